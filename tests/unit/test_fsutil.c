/* Unit tests for src/store/fsutil.c: how a failed write is reported. A full
 * disk (the kernel's ENOSPC, here from /dev/full) must come back as
 * BRAID_ENOSPC, whose message says "no space left on device", both from a
 * plain write and from an atomic replace; other failures stay BRAID_EIO. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/internal.h"

static void test_write_all_full_disk(void **state)
{
    (void)state;
    int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    static const char data[] = "a WAL record that does not fit";
    int rc = fs_write_all(fd, data, sizeof data);
    close(fd);
    assert_int_equal(BRAID_ENOSPC, rc);
    assert_string_equal("no space left on device", braid_strerror(rc));
}

static void test_write_all_other_failure(void **state)
{
    (void)state;
    char path[] = "/tmp/braid-test-fsutil-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    /* read-only descriptor: EBADF, a failure that is not a full disk */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    int rc = fs_write_all(fd, "x", 1);
    close(fd);
    unlink(path);
    assert_int_equal(BRAID_EIO, rc);
    assert_string_equal("I/O error", braid_strerror(rc));
}

static void test_write_atomic_missing_dir(void **state)
{
    (void)state;
    int rc = fs_write_atomic("/nonexistent-braid-dir/sub", "ckpt", "x", 1);
    assert_int_equal(BRAID_EIO, rc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_all_full_disk),
        cmocka_unit_test(test_write_all_other_failure),
        cmocka_unit_test(test_write_atomic_missing_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
