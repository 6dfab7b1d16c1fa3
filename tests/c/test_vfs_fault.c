/* The fault-injecting backend fails exactly the chosen call and forwards the rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "vfs/fault.h"

static void test_fail_nth_write(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/radi_fault_XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    rdi_vfs *vfs;
    assert_int_equal(rdi_vfs_create(&vfs), RADI_OK);
    rdi_fault fault = {.ops_mask = RDI_FAULT_WRITE, .fail_at = 2, .inner = &rdi_vfs_posix_ops};
    rdi_vfs_set_local(vfs, &rdi_vfs_fault_ops, &fault);

    char *a = rdi_path_join(tmpl, "a");
    char *b = rdi_path_join(tmpl, "b");
    assert_int_equal(rdi_vfs_write(vfs, a, "1", 1), RADI_OK);
    assert_int_equal(rdi_vfs_write(vfs, b, "2", 1), RADI_E_IO);
    assert_non_null(strstr(radi_errmsg(), "injected"));
    int kind;
    assert_int_equal(rdi_vfs_kind(vfs, b, &kind), RADI_OK);
    assert_int_equal(kind, 0); /* the failed write left nothing behind */
    assert_int_equal(rdi_vfs_write(vfs, b, "2", 1), RADI_OK); /* transient by default */
    assert_int_equal(fault.failures, 1);

    fault.calls = 0;
    fault.fail_at = 1;
    fault.ops_mask = RDI_FAULT_READ;
    fault.short_read = 1;
    char c;
    assert_int_equal(rdi_vfs_read(vfs, a, 0, &c, 1), RADI_E_CORRUPT);
    assert_int_equal(rdi_vfs_read(vfs, a, 0, &c, 1), RADI_OK);
    assert_int_equal(c, '1');

    rdi_vfs_set_local(vfs, &rdi_vfs_posix_ops, NULL);
    assert_int_equal(rdi_vfs_remove_dir(vfs, tmpl), RADI_OK);
    free(a);
    free(b);
    rdi_vfs_free(vfs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_fail_nth_write)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
