/* pm_image.h — recognising the practice logo: a PNG or JPEG whose magic bytes,
 * dimensions (PNG IHDR, JPEG SOFn) and size check out, given as bytes or as a
 * base64 data: URL. Pure C on APR; nothing here renders or trusts pixels. */
#ifndef PM_IMAGE_H
#define PM_IMAGE_H

#include <apr_pools.h>

#define PM_IMAGE_MAX_BYTES (100 * 1024)    /* decoded */
#define PM_IMAGE_MAX_SIDE  2048            /* pixels, each side */

typedef struct {
    const char *type;                      /* "image/png" or "image/jpeg" */
    unsigned int width, height;
} pm_image_info;

/* NULL when data[0..len) is a PNG or JPEG of 1..PM_IMAGE_MAX_SIDE pixels each
 * side and at most PM_IMAGE_MAX_BYTES, with *info filled in; otherwise what is
 * wrong, as a phrase ("is not a PNG or JPEG image"). */
const char *pm_image_check(const unsigned char *data, apr_size_t len, pm_image_info *info);

/* The same for "data:image/png;base64,..." or "data:image/jpeg;base64,...": the
 * declared type must be the sniffed one. On success *bytes and *len hold the
 * decoded image (allocated from p). SVG and every other type are refused. */
const char *pm_image_from_data_url(apr_pool_t *p, const char *url, const unsigned char **bytes,
                                   apr_size_t *len, pm_image_info *info);

#endif
