/*
 * S3 XML answers and request bodies: realistic bodies as S3 (and MinIO/moto) send them,
 * with the S3 namespace, a prefixed namespace, paging tokens, URL-encoded keys, empty
 * listings, <Error> documents (also as a 200 answer to CompleteMultipartUpload), and
 * malformed, over-deep, over-long and DTD-carrying input. The bodies radi builds are
 * checked byte for byte, with escaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/core.h"
#include "vfs/s3/xml.h"

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

static size_t len_of(const char *s) { return strlen(s); }

static void test_error(void **state)
{
    (void)state;
    const char *body = DECL "<Error><Code>NoSuchKey</Code><Message>The resource you requested "
                            "does not exist</Message><Resource>/mybucket/myfoto.jpg</Resource>"
                            "<RequestId>4442587FB7D0A2F9</RequestId></Error>";
    rdi_s3_error e = {(char *)1, (char *)1};
    assert_int_equal(rdi_s3_parse_error(body, len_of(body), &e), 1);
    assert_string_equal(e.code, "NoSuchKey");
    assert_string_equal(e.message, "The resource you requested does not exist");
    rdi_s3_error_free(&e);
    assert_null(e.code);

    /* 200 OK to CompleteMultipartUpload, then whitespace padding, then the error */
    const char *late = "\n   \n" DECL "\n\n<Error><Code>InternalError</Code><Message>We encountered "
                       "an internal error. Please try again.</Message></Error>";
    assert_int_equal(rdi_s3_parse_error(late, len_of(late), &e), 1);
    assert_string_equal(e.code, "InternalError");
    rdi_s3_error_free(&e);

    /* Code only; entities decoded */
    const char *code_only = "<Error><Code>Slow&amp;Down</Code></Error>";
    assert_int_equal(rdi_s3_parse_error(code_only, len_of(code_only), &e), 1);
    assert_string_equal(e.code, "Slow&Down");
    assert_null(e.message);
    rdi_s3_error_free(&e);

    /* cut short after the root opened: still an error, with what was seen */
    const char *cut = "<Error><Code>AccessDenied</Code><Message>Acc";
    assert_int_equal(rdi_s3_parse_error(cut, len_of(cut), &e), 1);
    assert_string_equal(e.code, "AccessDenied");
    rdi_s3_error_free(&e);

    /* not an error document, or not XML: 0, and the caller's message is kept */
    rdi_error(RADI_E_IO, "the caller's message");
    const char *ok = DECL "<CompleteMultipartUploadResult " NS "><Location>x</Location>"
                     "<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag></CompleteMultipartUploadResult>";
    assert_int_equal(rdi_s3_parse_error(ok, len_of(ok), &e), 0);
    assert_null(e.code);
    assert_int_equal(rdi_s3_parse_error("", 0, &e), 0);
    assert_int_equal(rdi_s3_parse_error(NULL, 0, &e), 0);
    assert_int_equal(rdi_s3_parse_error("<html><body>502 Bad Gateway", 28, &e), 0);
    assert_int_equal(rdi_s3_parse_error("not xml", 7, NULL), 0);
    assert_string_equal(radi_errmsg(), "the caller's message");
    /* a nested Error is not an error document */
    const char *nested = "<DeleteResult><Error><Code>x</Code></Error></DeleteResult>";
    assert_int_equal(rdi_s3_parse_error(nested, len_of(nested), &e), 0);
}

static const char *list_page1 =
    DECL "<ListBucketResult " NS ">"
    "<Name>bucket</Name><Prefix>ds/</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>"
    "<Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
    "<Contents><Key>ds/__meta/a</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>"
    "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>"
    "<StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key>ds/empty</Key><Size>0</Size></Contents>"
    "<Contents><Key>ds/big</Key><Size>18446744073709551615</Size></Contents>"
    "<CommonPrefixes><Prefix>ds/T1/</Prefix></CommonPrefixes>"
    "<CommonPrefixes><Prefix>ds/FLAIR/</Prefix></CommonPrefixes>"
    "</ListBucketResult>";

static void test_list(void **state)
{
    (void)state;
    rdi_s3_list_page p;
    assert_int_equal(rdi_s3_parse_list(list_page1, len_of(list_page1), &p), RADI_OK);
    assert_int_equal(p.keys.n, 3);
    assert_string_equal(p.keys.items[0], "ds/__meta/a");
    assert_string_equal(p.keys.items[2], "ds/big");
    assert_true(p.sizes[0] == 434234);
    assert_true(p.sizes[1] == 0);
    assert_true(p.sizes[2] == UINT64_MAX);
    assert_int_equal(p.prefixes.n, 2);
    assert_string_equal(p.prefixes.items[1], "ds/FLAIR/");
    assert_int_equal(p.truncated, 1);
    assert_string_equal(p.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    rdi_s3_list_page_free(&p);

    /* last page, a prefixed namespace, keys with spaces and entities, no NextContinuationToken */
    const char *last = DECL "<s3:ListBucketResult xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                       "<s3:IsTruncated> false </s3:IsTruncated>"
                       "<s3:Contents><s3:Key> lead &amp; &lt;trail&gt; </s3:Key><s3:Size>\n7\n</s3:Size></s3:Contents>"
                       "</s3:ListBucketResult>";
    assert_int_equal(rdi_s3_parse_list(last, len_of(last), &p), RADI_OK);
    assert_int_equal(p.keys.n, 1);
    assert_string_equal(p.keys.items[0], " lead & <trail> ");
    assert_true(p.sizes[0] == 7);
    assert_int_equal(p.truncated, 0);
    assert_null(p.next_token);
    rdi_s3_list_page_free(&p);

    /* a token present on a last page is dropped (the header promises NULL) */
    const char *tok_last = "<ListBucketResult><IsTruncated>false</IsTruncated>"
                           "<NextContinuationToken>x</NextContinuationToken></ListBucketResult>";
    assert_int_equal(rdi_s3_parse_list(tok_last, len_of(tok_last), &p), RADI_OK);
    assert_null(p.next_token);
    rdi_s3_list_page_free(&p);
}

static void test_list_empty_and_encoded(void **state)
{
    (void)state;
    rdi_s3_list_page p;
    const char *empty = DECL "<ListBucketResult " NS "><Name>bucket</Name><Prefix>nothing/</Prefix>"
                        "<KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>"
                        "<IsTruncated>false</IsTruncated></ListBucketResult>";
    assert_int_equal(rdi_s3_parse_list(empty, len_of(empty), &p), RADI_OK);
    assert_int_equal(p.keys.n, 0);
    assert_int_equal(p.prefixes.n, 0);
    assert_int_equal(p.truncated, 0);
    rdi_s3_list_page_free(&p);
    const char *self_closed = "<ListBucketResult " NS "/>";
    assert_int_equal(rdi_s3_parse_list(self_closed, len_of(self_closed), &p), RADI_OK);
    assert_int_equal(p.keys.n, 0);
    rdi_s3_list_page_free(&p);

    /* EncodingType=url, after the keys it applies to (order is not relied on) */
    const char *enc = DECL "<ListBucketResult " NS ">"
                      "<Contents><Key>a+b%2Bc%25d%3De/%C3%A9t%C3%A9</Key><Size>1</Size></Contents>"
                      "<Contents><Key>plain</Key><Size>2</Size></Contents>"
                      "<CommonPrefixes><Prefix>sp+ace%2F</Prefix></CommonPrefixes>"
                      "<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
                      "<NextContinuationToken>a+b/c=</NextContinuationToken></ListBucketResult>";
    assert_int_equal(rdi_s3_parse_list(enc, len_of(enc), &p), RADI_OK);
    assert_string_equal(p.keys.items[0], "a b+c%d=e/\xc3\xa9t\xc3\xa9");
    assert_string_equal(p.keys.items[1], "plain");
    assert_string_equal(p.prefixes.items[0], "sp ace/");
    assert_string_equal(p.next_token, "a+b/c=");  /* tokens are never decoded */
    rdi_s3_list_page_free(&p);

    /* without EncodingType, '+' and '%' are literal */
    const char *raw = "<ListBucketResult><Contents><Key>a+b%2B</Key><Size>1</Size></Contents></ListBucketResult>";
    assert_int_equal(rdi_s3_parse_list(raw, len_of(raw), &p), RADI_OK);
    assert_string_equal(p.keys.items[0], "a+b%2B");
    rdi_s3_list_page_free(&p);
}

static void expect_list_fails(const char *body, radi_status want, const char *msg_part)
{
    rdi_s3_list_page p;
    radi_status st = rdi_s3_parse_list(body, len_of(body), &p);
    if (st != want) fail_msg("%s: got %s (%s)", body, radi_status_name(st), radi_errmsg());
    if (msg_part && !strstr(radi_errmsg(), msg_part))
        fail_msg("message '%s' lacks '%s'", radi_errmsg(), msg_part);
    assert_int_equal(p.keys.n, 0);
    assert_null(p.sizes);
    assert_null(p.next_token);
}

static void test_list_bad(void **state)
{
    (void)state;
    expect_list_fails("<ListBucketResult><Contents><Key>a</Key>", RADI_E_CORRUPT,
                      "S3 listing: malformed XML at line 1: ");
    expect_list_fails("<ListBucketResult>\n<Contents><Key>a</Key></Contents>\n</ListBucket>",
                      RADI_E_CORRUPT, "malformed XML at line 3: mismatched tag");
    expect_list_fails("", RADI_E_CORRUPT, "malformed XML");
    expect_list_fails("<Other/>", RADI_E_CORRUPT, "expected <ListBucketResult>, got <Other>");
    expect_list_fails("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
                      RADI_E_IO, "S3 listing: S3 error AccessDenied: Access Denied");
    expect_list_fails("<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
                      RADI_E_CORRUPT, "without <Key>");
    expect_list_fails("<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
                      RADI_E_CORRUPT, "bad <Size>");
    expect_list_fails("<ListBucketResult><Contents><Key>a</Key><Size>18446744073709551616</Size>"
                      "</Contents></ListBucketResult>", RADI_E_CORRUPT, "bad <Size>");
    expect_list_fails("<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
                      RADI_E_CORRUPT, "bad <IsTruncated>");
    expect_list_fails("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
                      RADI_E_CORRUPT, "without <NextContinuationToken>");
    expect_list_fails("<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%2</Key>"
                      "</Contents></ListBucketResult>", RADI_E_CORRUPT, "bad URL encoding");
    expect_list_fails("<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%00</Key>"
                      "</Contents></ListBucketResult>", RADI_E_CORRUPT, "bad URL encoding");
    expect_list_fails("<ListBucketResult><EncodingType>base64</EncodingType></ListBucketResult>",
                      RADI_E_UNSUPPORTED, "EncodingType");
    /* a DTD (the way to an entity bomb) is refused before any entity is declared */
    expect_list_fails("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                      "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;\">]>"
                      "<ListBucketResult><Contents><Key>&lol2;</Key></Contents></ListBucketResult>",
                      RADI_E_CORRUPT, "DTD");

    /* depth: 32 levels are fine, 33 are not */
    rdi_buf b = RDI_BUF_INIT;
    for (int depth = 32; depth <= 33; depth++) {
        b.len = 0;
        assert_int_equal(rdi_buf_append(&b, "<ListBucketResult>", 18), RADI_OK);
        for (int i = 1; i < depth; i++) assert_int_equal(rdi_buf_append(&b, "<a>", 3), RADI_OK);
        for (int i = 1; i < depth; i++) assert_int_equal(rdi_buf_append(&b, "</a>", 4), RADI_OK);
        assert_int_equal(rdi_buf_append(&b, "</ListBucketResult>", 19), RADI_OK);
        rdi_s3_list_page p;
        radi_status st = rdi_s3_parse_list(b.data, b.len, &p);
        if (depth == 32) {
            assert_int_equal(st, RADI_OK);
            rdi_s3_list_page_free(&p);
        } else {
            assert_int_equal(st, RADI_E_CORRUPT);
            assert_non_null(strstr(radi_errmsg(), "deeper than 32"));
        }
    }

    /* a key over 64 KiB */
    b.len = 0;
    const char *head = "<ListBucketResult><Contents><Key>";
    assert_int_equal(rdi_buf_append(&b, head, strlen(head)), RADI_OK);
    for (int i = 0; i < 65537; i++) assert_int_equal(rdi_buf_put_u8(&b, 'k'), RADI_OK);
    const char *tail = "</Key><Size>1</Size></Contents></ListBucketResult>";
    assert_int_equal(rdi_buf_append(&b, tail, strlen(tail)), RADI_OK);
    rdi_s3_list_page p;
    assert_int_equal(rdi_s3_parse_list(b.data, b.len, &p), RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), "over 65536 bytes"));
    /* ... but 64 KiB of text in an element nobody reads is fine */
    b.len = 0;
    assert_int_equal(rdi_buf_append(&b, "<ListBucketResult><Owner>", 25), RADI_OK);
    for (int i = 0; i < 100000; i++) assert_int_equal(rdi_buf_put_u8(&b, 'o'), RADI_OK);
    assert_int_equal(rdi_buf_append(&b, "</Owner></ListBucketResult>", 27), RADI_OK);
    assert_int_equal(rdi_s3_parse_list(b.data, b.len, &p), RADI_OK);
    rdi_s3_list_page_free(&p);

    /* the body size bound is checked before parsing */
    assert_int_equal(rdi_s3_parse_list(b.data, ((size_t)64 << 20) + 1, &p), RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), "limit"));
    rdi_buf_free(&b);
}

static void test_list_many(void **state)
{
    (void)state;
    rdi_buf b = RDI_BUF_INIT;
    assert_int_equal(rdi_buf_append(&b, "<ListBucketResult>", 18), RADI_OK);
    char item[128];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(item, sizeof item, "<Contents><Key>k/%04d</Key><Size>%d</Size></Contents>", i, i * 3);
        assert_int_equal(rdi_buf_append(&b, item, (size_t)n), RADI_OK);
    }
    assert_int_equal(rdi_buf_append(&b, "</ListBucketResult>", 19), RADI_OK);
    rdi_s3_list_page p;
    assert_int_equal(rdi_s3_parse_list(b.data, b.len, &p), RADI_OK);
    assert_int_equal(p.keys.n, 1000);
    assert_string_equal(p.keys.items[999], "k/0999");
    assert_true(p.sizes[999] == 2997);
    rdi_s3_list_page_free(&p);
    rdi_buf_free(&b);
}

static void test_upload_id(void **state)
{
    (void)state;
    const char *body = DECL "<InitiateMultipartUploadResult " NS "><Bucket>example-bucket</Bucket>"
                       "<Key>example-object</Key><UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5t"
                       "MnRzIHVwbG9hZA</UploadId></InitiateMultipartUploadResult>";
    char *id = (char *)1;
    assert_int_equal(rdi_s3_parse_upload_id(body, len_of(body), &id), RADI_OK);
    assert_string_equal(id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
    free(id);
    const char *none = "<InitiateMultipartUploadResult><Key>k</Key></InitiateMultipartUploadResult>";
    assert_int_equal(rdi_s3_parse_upload_id(none, len_of(none), &id), RADI_E_CORRUPT);
    assert_null(id);
    const char *err = "<Error><Code>NoSuchBucket</Code></Error>";
    assert_int_equal(rdi_s3_parse_upload_id(err, len_of(err), &id), RADI_E_IO);
    assert_non_null(strstr(radi_errmsg(), "NoSuchBucket"));
    assert_int_equal(rdi_s3_parse_upload_id("<Initiate", 9, &id), RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), "S3 InitiateMultipartUpload: malformed XML at line 1"));
    assert_null(id);
}

/* AWS escapes the ETag's quotes as &quot; and may put it between newlines. */
static void test_copy_part(void **state)
{
    (void)state;
    const char *body = DECL "<CopyPartResult " NS "><LastModified>2026-01-01T00:00:00.000Z</LastModified>\n"
                       "<ETag>\n&quot;b54357faf0632cce46e942fa68356b38&quot;\n</ETag></CopyPartResult>";
    char *etag = (char *)1;
    assert_int_equal(rdi_s3_parse_copy_part(body, len_of(body), &etag), RADI_OK);
    assert_string_equal(etag, "\"b54357faf0632cce46e942fa68356b38\"");
    free(etag);
    const char *none = "<CopyPartResult><LastModified>x</LastModified></CopyPartResult>";
    assert_int_equal(rdi_s3_parse_copy_part(none, len_of(none), &etag), RADI_E_CORRUPT);
    assert_null(etag);
    /* The 200 answer carrying an <Error> (a copy that failed after the headers went out). */
    const char *err = "<Error><Code>InternalError</Code><Message>We encountered an internal error</Message></Error>";
    assert_int_equal(rdi_s3_parse_copy_part(err, len_of(err), &etag), RADI_E_IO);
    assert_non_null(strstr(radi_errmsg(), "InternalError"));
    assert_null(etag);
    const char *other = "<CopyObjectResult><ETag>\"x\"</ETag></CopyObjectResult>";
    assert_int_equal(rdi_s3_parse_copy_part(other, len_of(other), &etag), RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), "expected <CopyPartResult>"));
}

static void test_delete_result(void **state)
{
    (void)state;
    const char *body = DECL "<DeleteResult " NS ">"
                       "<Deleted><Key>sample1.txt</Key></Deleted>"
                       "<Error><Key>sample2.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
                       "<Error><Key>a &amp; b</Key><Code>InternalError</Code></Error>"
                       "</DeleteResult>";
    rdi_strlist failed = RDI_STRLIST_INIT;
    assert_int_equal(rdi_s3_parse_delete_result(body, len_of(body), &failed), RADI_OK);
    assert_int_equal(failed.n, 2);
    assert_string_equal(failed.items[0], "sample2.txt (AccessDenied)");
    assert_string_equal(failed.items[1], "a & b (InternalError)");
    rdi_strlist_free(&failed);

    const char *quiet = DECL "<DeleteResult " NS "/>";
    assert_int_equal(rdi_s3_parse_delete_result(quiet, len_of(quiet), &failed), RADI_OK);
    assert_int_equal(failed.n, 0);
    rdi_strlist_free(&failed);

    const char *whole = "<Error><Code>MalformedXML</Code><Message>The XML you provided was not "
                        "well-formed</Message></Error>";
    assert_int_equal(rdi_s3_parse_delete_result(whole, len_of(whole), &failed), RADI_E_IO);
    assert_non_null(strstr(radi_errmsg(), "MalformedXML"));
    assert_int_equal(failed.n, 0);
    const char *bad = "<DeleteResult><Error><Key>x</Key></DeleteResult>";
    assert_int_equal(rdi_s3_parse_delete_result(bad, len_of(bad), &failed), RADI_E_CORRUPT);
    assert_int_equal(failed.n, 0);
}

static void test_build_delete(void **state)
{
    (void)state;
    const char *keys[] = {"a/b.tdb", "x & <y> \"q\" 'z'", "caf\xc3\xa9\r\n\t"};
    rdi_buf out = RDI_BUF_INIT;
    assert_int_equal(rdi_s3_xml_delete_objects(keys, 3, &out), RADI_OK);
    const char *want = DECL "<Delete " NS "><Quiet>true</Quiet>"
                       "<Object><Key>a/b.tdb</Key></Object>"
                       "<Object><Key>x &amp; &lt;y&gt; &quot;q&quot; &apos;z&apos;</Key></Object>"
                       "<Object><Key>caf\xc3\xa9&#13;&#10;&#9;</Key></Object></Delete>";
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    assert_int_equal(out.data[out.len], 0);
    /* called again, the buffer holds only the new body */
    assert_int_equal(rdi_s3_xml_delete_objects(keys, 1, &out), RADI_OK);
    assert_string_equal((char *)out.data, DECL "<Delete " NS "><Quiet>true</Quiet>"
                                               "<Object><Key>a/b.tdb</Key></Object></Delete>");

    const char *ctrl[] = {"bad\x01key"};
    assert_int_equal(rdi_s3_xml_delete_objects(ctrl, 1, &out), RADI_E_INVALID);
    const char *utf[] = {"bad\xc3"};
    assert_int_equal(rdi_s3_xml_delete_objects(utf, 1, &out), RADI_E_INVALID);
    const char *overlong[] = {"\xc0\xaf"};
    assert_int_equal(rdi_s3_xml_delete_objects(overlong, 1, &out), RADI_E_INVALID);
    const char *surrogate[] = {"\xed\xa0\x80"};
    assert_int_equal(rdi_s3_xml_delete_objects(surrogate, 1, &out), RADI_E_INVALID);
    const char *empty[] = {""};
    assert_int_equal(rdi_s3_xml_delete_objects(empty, 1, &out), RADI_E_INVALID);
    assert_int_equal(rdi_s3_xml_delete_objects(keys, 0, &out), RADI_E_INVALID);
    assert_int_equal(rdi_s3_xml_delete_objects(keys, 1001, &out), RADI_E_INVALID);
    assert_int_equal(out.len, 0);
    rdi_buf_free(&out);
}

static void test_build_complete(void **state)
{
    (void)state;
    const char *etags[] = {"\"a54357aff0632cce46d942af68356b38\"", "\"0c78aef83f66abc1fa1e8477f296d394\"",
                           "\"acbd18db4cc2f85cedef654fccc4a4d8\""};
    rdi_buf out = RDI_BUF_INIT;
    assert_int_equal(rdi_s3_xml_complete_multipart(etags, 3, &out), RADI_OK);
    assert_string_equal((char *)out.data,
                        DECL "<CompleteMultipartUpload " NS ">"
                        "<Part><PartNumber>1</PartNumber><ETag>&quot;a54357aff0632cce46d942af68356b38&quot;</ETag></Part>"
                        "<Part><PartNumber>2</PartNumber><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag></Part>"
                        "<Part><PartNumber>3</PartNumber><ETag>&quot;acbd18db4cc2f85cedef654fccc4a4d8&quot;</ETag></Part>"
                        "</CompleteMultipartUpload>");
    const char *none[] = {NULL};
    assert_int_equal(rdi_s3_xml_complete_multipart(none, 1, &out), RADI_E_INVALID);
    assert_int_equal(rdi_s3_xml_complete_multipart(etags, 0, &out), RADI_E_INVALID);
    assert_int_equal(rdi_s3_xml_complete_multipart(etags, 10001, &out), RADI_E_INVALID);
    rdi_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error),         cmocka_unit_test(test_list),
        cmocka_unit_test(test_list_empty_and_encoded), cmocka_unit_test(test_list_bad),
        cmocka_unit_test(test_list_many),     cmocka_unit_test(test_upload_id), cmocka_unit_test(test_copy_part),
        cmocka_unit_test(test_delete_result), cmocka_unit_test(test_build_delete),
        cmocka_unit_test(test_build_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
