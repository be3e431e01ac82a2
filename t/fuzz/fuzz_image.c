/* fuzz_image — the logo check (pm_image) on arbitrary bytes and on arbitrary data:
 * URLs: never reads past the input; what it accepts has a type of PNG or JPEG, 1 to
 * PM_IMAGE_MAX_SIDE pixels each side and at most PM_IMAGE_MAX_BYTES; the same bytes
 * behind a data: URL give the same answer, and a data: URL's declared type must be
 * what the bytes are. */
#include "fuzz.h"
#include "pm_image.h"

#include <apr_base64.h>

static void check_accepted(const pm_image_info *info, apr_size_t len)
{
    check(strcmp(info->type, "image/png") == 0 || strcmp(info->type, "image/jpeg") == 0,
          "an accepted image is PNG or JPEG");
    check(info->width >= 1 && info->width <= PM_IMAGE_MAX_SIDE, "width within limits");
    check(info->height >= 1 && info->height <= PM_IMAGE_MAX_SIDE, "height within limits");
    check(len <= PM_IMAGE_MAX_BYTES, "size within limits");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    /* an exact-size heap copy: ASan sees any read past the end */
    unsigned char *copy = malloc(size ? size : 1);
    pm_image_info info, info2;
    const unsigned char *bytes;
    apr_size_t len;
    const char *problem, *problem2, *url;
    char *b64;

    memcpy(copy, data, size);
    problem = pm_image_check(copy, size, &info);
    if (problem == NULL) {
        check_accepted(&info, size);
    }

    /* the same bytes as a data: URL declared with the sniffed (or a wrong) type */
    b64 = apr_palloc(p, apr_base64_encode_len((int)size));
    apr_base64_encode(b64, (const char *)data, (int)size);
    url = apr_pstrcat(p, "data:", problem == NULL ? info.type : "image/png", ";base64,", b64, NULL);
    problem2 = pm_image_from_data_url(p, url, &bytes, &len, &info2);
    check((problem == NULL) == (problem2 == NULL), "bytes and data: URL agree");
    if (problem2 == NULL) {
        check(len == size && memcmp(bytes, data, size) == 0, "the data: URL decodes to the bytes");
        check(strcmp(info.type, info2.type) == 0 && info.width == info2.width
              && info.height == info2.height, "the same image either way");
        url = apr_pstrcat(p, "data:", strcmp(info.type, "image/png") == 0 ? "image/jpeg"
                                                                           : "image/png",
                          ";base64,", b64, NULL);
        check(pm_image_from_data_url(p, url, &bytes, &len, &info2) != NULL,
              "a declared type that is not the sniffed one is refused");
    }

    /* the input itself as a data: URL (text) */
    pm_image_from_data_url(p, fuzz_cstr(p, data, size), &bytes, &len, &info2);
    free(copy);
    apr_pool_destroy(p);
    return 0;
}
