/* Unit tests for the logo check (src/core/pm_image.c): PNG and JPEG recognised with
 * their sizes, SVG and everything else refused, limits, truncation, data: URLs. */
#include "pm_image.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_base64.h>

static void put32(unsigned char *b, unsigned int v)
{
    b[0] = (unsigned char)(v >> 24); b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8); b[3] = (unsigned char)v;
}

/* signature, IHDR (w x h, 8-bit RGB), an IDAT of two bytes, IEND (CRCs not checked) */
static apr_size_t make_png(unsigned char *b, unsigned int w, unsigned int h)
{
    static const unsigned char head[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n',
                                          0, 0, 0, 13, 'I', 'H', 'D', 'R' };
    static const unsigned char idat[] = { 0, 0, 0, 2, 'I', 'D', 'A', 'T', 0x78, 0x9C,
                                          0x12, 0x34, 0x56, 0x78 };
    static const unsigned char iend[] = { 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82 };

    memcpy(b, head, sizeof(head));
    put32(b + 16, w);
    put32(b + 20, h);
    memcpy(b + 24, "\x08\x02\x00\x00\x00", 5);
    put32(b + 29, 0x12345678);
    memcpy(b + 33, idat, sizeof(idat));
    memcpy(b + 33 + sizeof(idat), iend, sizeof(iend));
    return 33 + sizeof(idat) + sizeof(iend);
}

/* SOI, an APP0 segment, then a frame header SOF<sof> (h x w), then EOI */
static apr_size_t make_jpeg(unsigned char *b, unsigned int sof, unsigned int w, unsigned int h)
{
    static const unsigned char app0[] = { 0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0,
                                          1, 1, 0, 0, 1, 0, 1, 0, 0 };
    apr_size_t n = sizeof(app0);

    memcpy(b, app0, n);
    b[n++] = 0xFF; b[n++] = 0xFF;                 /* a fill byte before the marker */
    b[n++] = (unsigned char)sof;
    b[n++] = 0x00; b[n++] = 0x0B;                 /* length 11: one component */
    b[n++] = 8;
    b[n++] = (unsigned char)(h >> 8); b[n++] = (unsigned char)h;
    b[n++] = (unsigned char)(w >> 8); b[n++] = (unsigned char)w;
    b[n++] = 1; b[n++] = 1; b[n++] = 0x11; b[n++] = 0;
    b[n++] = 0xFF; b[n++] = 0xD9;
    return n;
}

static void test_png(void)
{
    unsigned char b[64];
    pm_image_info info;
    apr_size_t n = make_png(b, 120, 40);

    ok(pm_image_check(b, n, &info) == NULL, "PNG 120x40 accepted");
    is_str(info.type, "image/png", "PNG type");
    ok(info.width == 120 && info.height == 40, "PNG dimensions from IHDR (%ux%u)", info.width,
       info.height);
    make_png(b, 2048, 1);
    ok(pm_image_check(b, n, &info) == NULL && info.width == 2048, "PNG 2048 wide accepted");
    make_png(b, 2049, 10);
    ok(pm_image_check(b, n, &info) != NULL && info.type == NULL, "PNG 2049 wide refused");
    make_png(b, 10, 2049);
    ok(pm_image_check(b, n, &info) != NULL, "PNG 2049 high refused");
    make_png(b, 0, 10);
    ok(pm_image_check(b, n, &info) != NULL, "PNG 0 wide refused");
    make_png(b, 0x80000000u, 1);
    ok(pm_image_check(b, n, &info) != NULL, "PNG with a huge width refused");
    make_png(b, 10, 10);
    ok(pm_image_check(b, 28, &info) != NULL, "PNG cut inside IHDR refused");
    ok(pm_image_check(b, 8, &info) != NULL, "PNG signature alone refused");
    b[11] = 14;
    ok(pm_image_check(b, n, &info) != NULL, "IHDR of the wrong length refused");
    make_png(b, 10, 10);
    memcpy(b + 12, "IDAT", 4);
    ok(pm_image_check(b, n, &info) != NULL, "PNG without IHDR first refused");
    make_png(b, 10, 10);
    b[25] = 5;
    ok(pm_image_check(b, n, &info) != NULL, "PNG colour type 5 refused");
    make_png(b, 10, 10);
    b[24] = 7;
    ok(pm_image_check(b, n, &info) != NULL, "PNG bit depth 7 refused");

    /* cut off (what a broken upload or a truncated file looks like): no IEND */
    make_png(b, 10, 10);
    ok(pm_image_check(b, n - 12, &info) != NULL, "PNG cut before IEND refused");
    ok(pm_image_check(b, n - 1, &info) != NULL, "PNG cut inside IEND refused");
    ok(pm_image_check(b, 40, &info) != NULL, "PNG cut inside IDAT refused");
    b[36] = 200;                                  /* IDAT says 200 bytes */
    ok(pm_image_check(b, n, &info) != NULL, "PNG whose chunk runs past the end refused");
    make_png(b, 10, 10);
    memcpy(b + 37, "tEXt", 4);
    ok(pm_image_check(b, n, &info) != NULL, "PNG without IDAT refused");
    make_png(b, 10, 10);
    ok(pm_image_check(b, n, &info) == NULL, "the whole PNG accepted again");
}

static void test_jpeg(void)
{
    unsigned char b[64];
    pm_image_info info;
    apr_size_t n = make_jpeg(b, 0xC0, 300, 200);

    ok(pm_image_check(b, n, &info) == NULL, "baseline JPEG accepted");
    is_str(info.type, "image/jpeg", "JPEG type");
    ok(info.width == 300 && info.height == 200, "JPEG dimensions from SOF0 (%ux%u)", info.width,
       info.height);
    n = make_jpeg(b, 0xC2, 2048, 2048);
    ok(pm_image_check(b, n, &info) == NULL && info.width == 2048, "progressive JPEG (SOF2) accepted");
    n = make_jpeg(b, 0xC0, 2049, 5);
    ok(pm_image_check(b, n, &info) != NULL, "JPEG 2049 wide refused");
    n = make_jpeg(b, 0xC0, 5, 0);
    ok(pm_image_check(b, n, &info) != NULL, "JPEG 0 high refused");
    n = make_jpeg(b, 0xC4, 5, 5);
    ok(pm_image_check(b, n, &info) != NULL, "DHT is not a frame header: no size, refused");
    n = make_jpeg(b, 0xDA, 5, 5);
    ok(pm_image_check(b, n, &info) != NULL, "scan data before any frame header refused");
    n = make_jpeg(b, 0xC0, 5, 5);
    ok(pm_image_check(b, 20, &info) != NULL, "JPEG cut before its frame header refused");
    ok(pm_image_check(b, 3, &info) != NULL, "SOI alone refused");
    b[5] = 0xF0;                                  /* APP0 length runs past the end */
    ok(pm_image_check(b, n, &info) != NULL, "segment length beyond the data refused");
    n = make_jpeg(b, 0xC0, 5, 5);
    b[5] = 0x01;                                  /* APP0 length 1 (< 2) */
    ok(pm_image_check(b, n, &info) != NULL, "segment length below 2 refused");
    n = make_jpeg(b, 0xC0, 5, 5);
    b[20] = 0x00;                                 /* garbage where a marker belongs */
    ok(pm_image_check(b, n, &info) != NULL, "bytes that are not a marker refused");
    n = make_jpeg(b, 0xC0, 5, 5);
    ok(pm_image_check(b, n - 2, &info) != NULL, "JPEG cut before its end-of-image marker refused");
    ok(pm_image_check(b, n - 1, &info) != NULL, "JPEG cut inside its end-of-image marker refused");
    ok(pm_image_check(b, n, &info) == NULL, "the whole JPEG accepted again");
}

static void test_others(void)
{
    static const char svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"4\" height=\"4\">"
                              "<script>alert(1)</script></svg>";
    static const char gif[] = "GIF89a\x01\x00\x01\x00\x80\x00\x00";
    static unsigned char big[PM_IMAGE_MAX_BYTES + 1];
    pm_image_info info;

    ok(pm_image_check((const unsigned char *)svg, sizeof(svg) - 1, &info) != NULL, "SVG refused");
    ok(pm_image_check((const unsigned char *)gif, sizeof(gif) - 1, &info) != NULL, "GIF refused");
    ok(pm_image_check((const unsigned char *)"", 0, &info) != NULL, "nothing refused");
    ok(pm_image_check(NULL, 0, &info) != NULL, "NULL refused");
    make_png(big, 10, 10);
    ok(pm_image_check(big, PM_IMAGE_MAX_BYTES, &info) == NULL, "a PNG of exactly 100 KB accepted");
    is_str(pm_image_check(big, PM_IMAGE_MAX_BYTES + 1, &info), "must be at most 100 KB",
           "a PNG of 100 KB + 1 byte refused");
}

static const char *url_of(apr_pool_t *p, const char *type, const unsigned char *b, apr_size_t n)
{
    char *enc = apr_palloc(p, (apr_size_t)apr_base64_encode_len((int)n));

    apr_base64_encode_binary(enc, b, (int)n);
    return apr_pstrcat(p, "data:", type, ";base64,", enc, NULL);
}

static void test_data_urls(apr_pool_t *p)
{
    unsigned char png[64], jpg[64];
    apr_size_t np = make_png(png, 16, 8), nj = make_jpeg(jpg, 0xC0, 4, 4), len;
    const unsigned char *bytes;
    pm_image_info info;
    const char *u, *svg = "<svg xmlns=\"http://www.w3.org/2000/svg\"/>";

    ok(pm_image_from_data_url(p, url_of(p, "image/png", png, np), &bytes, &len, &info) == NULL
       && len == np && memcmp(bytes, png, np) == 0 && info.width == 16, "PNG data: URL decoded");
    ok(pm_image_from_data_url(p, url_of(p, "image/jpeg", jpg, nj), &bytes, &len, &info) == NULL
       && len == nj && strcmp(info.type, "image/jpeg") == 0, "JPEG data: URL decoded");
    ok(pm_image_from_data_url(p, url_of(p, "image/png", jpg, nj), &bytes, &len, &info) != NULL
       && bytes == NULL, "JPEG bytes labelled PNG refused");
    ok(pm_image_from_data_url(p, url_of(p, "image/jpeg", png, np), &bytes, &len, &info) != NULL,
       "PNG bytes labelled JPEG refused");
    u = url_of(p, "image/svg+xml", (const unsigned char *)svg, strlen(svg));
    ok(strstr(pm_image_from_data_url(p, u, &bytes, &len, &info), "PNG or JPEG") != NULL,
       "SVG data: URL refused, the message names PNG and JPEG");
    ok(pm_image_from_data_url(p, url_of(p, "image/png", (const unsigned char *)svg, strlen(svg)),
                              &bytes, &len, &info) != NULL, "SVG bytes labelled PNG refused");
    ok(pm_image_from_data_url(p, "data:image/png;base64,", &bytes, &len, &info) != NULL,
       "empty data refused");
    ok(pm_image_from_data_url(p, "data:image/png;base64,iVBO=Rw0", &bytes, &len, &info) != NULL,
       "padding in the middle refused");
    ok(pm_image_from_data_url(p, "data:image/png;base64,iVBORw0", &bytes, &len, &info) != NULL,
       "base64 of the wrong length refused");
    ok(pm_image_from_data_url(p, "DATA:IMAGE/PNG;BASE64,iVBORw0K", &bytes, &len, &info) != NULL,
       "upper-case prefix refused");
    ok(pm_image_from_data_url(p, NULL, &bytes, &len, &info) != NULL, "NULL refused");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_png();
    test_jpeg();
    test_others();
    test_data_urls(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
