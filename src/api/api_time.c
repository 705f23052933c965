/* api/time: parsing of the `start` / `end` query parameters: Unix epoch
 * numbers, RFC 3339 timestamps and relative durations ("15m" ago). Pure. */
#include "api.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (y, m 1..12, d 1..31). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool digits(const uint8_t *p, size_t n, int64_t *out)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

static int parse_rfc3339(bslice s, uint64_t *out)
{
    const uint8_t *p = s.p;
    int64_t y, mo, d, h, mi, sec;
    if (s.n < 20 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != 't' && p[10] != ' ') ||
        p[13] != ':' || p[16] != ':')
        return BRAID_EINVAL;
    if (!digits(p, 4, &y) || !digits(p + 5, 2, &mo) || !digits(p + 8, 2, &d) ||
        !digits(p + 11, 2, &h) || !digits(p + 14, 2, &mi) || !digits(p + 17, 2, &sec))
        return BRAID_EINVAL;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return BRAID_EINVAL;
    size_t i = 19;
    uint64_t frac = 0;
    if (i < s.n && p[i] == '.') {
        i++;
        size_t nd = 0;
        while (i < s.n && p[i] >= '0' && p[i] <= '9') {
            if (nd < 9) {
                frac = frac * 10 + (uint64_t)(p[i] - '0');
                nd++;
            }
            i++;
        }
        if (nd == 0)
            return BRAID_EINVAL;
        while (nd++ < 9)
            frac *= 10;
    }
    int64_t off = 0;
    if (i < s.n && (p[i] == 'Z' || p[i] == 'z')) {
        i++;
    } else if (i + 6 == s.n && (p[i] == '+' || p[i] == '-') && p[i + 3] == ':') {
        int64_t oh, om;
        if (!digits(p + i + 1, 2, &oh) || !digits(p + i + 4, 2, &om) || oh > 23 || om > 59)
            return BRAID_EINVAL;
        off = (oh * 3600 + om * 60) * (p[i] == '+' ? 1 : -1);
        i += 6;
    } else {
        return BRAID_EINVAL;
    }
    if (i != s.n)
        return BRAID_EINVAL;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    if (secs < 0)
        return BRAID_EINVAL;
    *out = (uint64_t)secs * 1000000000ull + frac;
    return 0;
}

/* A bare number: seconds (with optional fraction) when small, otherwise
 * milliseconds, microseconds or nanoseconds by magnitude, as Loki accepts. */
static int parse_epoch(bslice s, uint64_t *out)
{
    uint64_t ip = 0;
    size_t i = 0;
    for (; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++) {
        if (ip > (UINT64_MAX - 9) / 10)
            return BRAID_EINVAL;
        ip = ip * 10 + (uint64_t)(s.p[i] - '0');
    }
    if (i == 0)
        return BRAID_EINVAL;
    uint64_t frac = 0;
    if (i < s.n && s.p[i] == '.') {
        size_t nd = 0;
        for (i++; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++)
            if (nd < 9) {
                frac = frac * 10 + (uint64_t)(s.p[i] - '0');
                nd++;
            }
        if (nd == 0)
            return BRAID_EINVAL;
        while (nd++ < 9)
            frac *= 10;
    }
    if (i != s.n)
        return BRAID_EINVAL;
    if (ip < 100000000000ull) { /* < 1e11: seconds */
        *out = ip * 1000000000ull + frac;
    } else if (ip < 100000000000000ull) {
        *out = ip * 1000000ull;
    } else if (ip < 100000000000000000ull) {
        *out = ip * 1000ull;
    } else {
        *out = ip;
    }
    return 0;
}

int api_parse_time(bslice s, uint64_t now_ns, uint64_t *out_ns)
{
    if (s.n == 0 || s.n > 64)
        return BRAID_EINVAL;
    if (bslice_eq_cstr(s, "now")) {
        *out_ns = now_ns;
        return 0;
    }
    if (s.n >= 20 && s.p[4] == '-')
        return parse_rfc3339(s, out_ns);
    uint8_t last = s.p[s.n - 1];
    if ((last >= '0' && last <= '9') || last == '.')
        return parse_epoch(s, out_ns);
    char tmp[65];
    memcpy(tmp, s.p, s.n);
    tmp[s.n] = 0;
    uint64_t d;
    if (parse_duration_ns(tmp, &d))
        return BRAID_EINVAL;
    *out_ns = d > now_ns ? 0 : now_ns - d;
    return 0;
}
