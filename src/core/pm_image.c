/* pm_image.c — the logo check: PNG signature, IHDR and a chunk walk to IEND, JPEG
 * markers up to the first SOFn frame header and its end-of-image marker, size and
 * dimension limits, and the data: URL around them. Reads untrusted bytes, so every
 * read is bounds-checked. A cut-off file (no IEND, no EOI) is refused: it would show
 * as an empty box in every email. */
#include "pm_image.h"

#include <string.h>
#include <apr_base64.h>
#include <apr_strings.h>

#define NOT_AN_IMAGE "is not a PNG or JPEG image"

static unsigned int be16(const unsigned char *b)
{
    return ((unsigned int)b[0] << 8) | b[1];
}

static unsigned int be32(const unsigned char *b)
{
    return ((unsigned int)b[0] << 24) | ((unsigned int)b[1] << 16)
           | ((unsigned int)b[2] << 8) | b[3];
}

/* bit depths a PNG colour type allows (PNG spec, table 11.1) */
static int png_depth_ok(unsigned int colour, unsigned int depth)
{
    switch (colour) {
    case 0: return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3: return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2: case 4: case 6: return depth == 8 || depth == 16;
    default: return 0;
    }
}

/* The chunks after the signature, each length, type, data and CRC inside the bytes,
 * reach an IEND with at least one IDAT before it (the CRCs are not checked). */
static int png_chunks_complete(const unsigned char *d, apr_size_t len)
{
    apr_size_t i = 8;
    int idat = 0;

    while (len - i >= 12) {
        apr_size_t data = be32(d + i);
        const unsigned char *type = d + i + 4;

        if (data > len - i - 12) {
            return 0;
        }
        if (memcmp(type, "IEND", 4) == 0) {
            return idat;
        }
        idat |= memcmp(type, "IDAT", 4) == 0;
        i += 12 + data;
    }
    return 0;
}

static const char *png_check(const unsigned char *d, apr_size_t len, pm_image_info *info)
{
    const unsigned char *ihdr = d + 16;

    /* signature (8), IHDR length (4) and type (4), 13 bytes of data, CRC (4) */
    if (len < 8 + 8 + 13 + 4 || be32(d + 8) != 13 || memcmp(d + 12, "IHDR", 4) != 0) {
        return "is not a complete PNG image";
    }
    if (!png_depth_ok(ihdr[9], ihdr[8]) || ihdr[10] != 0 || ihdr[11] != 0 || ihdr[12] > 1) {
        return "is not a valid PNG image";
    }
    if (!png_chunks_complete(d, len)) {
        return "is not a complete PNG image (it may have been cut off)";
    }
    info->type = "image/png";
    info->width = be32(ihdr);
    info->height = be32(ihdr + 4);
    return NULL;
}

/* SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) do not */
static int jpeg_is_sof(unsigned int m)
{
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

/* An end-of-image marker (FF D9) after the frame header: the compressed data
 * escapes every FF it holds (FF 00), so one there is the end of the file's image. */
static int jpeg_has_end(const unsigned char *d, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i + 1 < len; i++) {
        if (d[i] == 0xFF && d[i + 1] == 0xD9) {
            return 1;
        }
    }
    return 0;
}

static const char *jpeg_check(const unsigned char *d, apr_size_t len, pm_image_info *info)
{
    apr_size_t i = 2;

    while (i < len) {
        unsigned int m, seg;
        if (d[i] != 0xFF) {
            return "is not a valid JPEG image";
        }
        while (i < len && d[i] == 0xFF) {          /* fill bytes */
            i++;
        }
        if (i >= len) {
            break;
        }
        m = d[i++];
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {   /* TEM, RSTn: no length */
            continue;
        }
        if (m == 0xD8 || m == 0xD9 || m == 0xDA || m == 0x00) {
            return "is a JPEG image without a frame header before its data";
        }
        if (len - i < 2 || (seg = be16(d + i)) < 2 || seg > len - i) {
            break;
        }
        if (jpeg_is_sof(m)) {
            if (seg < 8) {
                return "is not a valid JPEG image";
            }
            if (!jpeg_has_end(d + i, len - i)) {
                return "is not a complete JPEG image (it may have been cut off)";
            }
            info->type = "image/jpeg";
            info->height = be16(d + i + 3);
            info->width = be16(d + i + 5);
            return NULL;
        }
        i += seg;
    }
    return "is not a complete JPEG image";
}

const char *pm_image_check(const unsigned char *data, apr_size_t len, pm_image_info *info)
{
    static const unsigned char png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
    const char *err;

    memset(info, 0, sizeof(*info));
    if (data == NULL || len == 0) {
        return "is empty";
    }
    if (len > PM_IMAGE_MAX_BYTES) {
        return "must be at most 100 KB";
    }
    if (len >= 8 && memcmp(data, png_sig, 8) == 0) {
        err = png_check(data, len, info);
    }
    else if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) {
        err = jpeg_check(data, len, info);
    }
    else {
        return NOT_AN_IMAGE;
    }
    if (err == NULL && (info->width < 1 || info->height < 1 || info->width > PM_IMAGE_MAX_SIDE
                        || info->height > PM_IMAGE_MAX_SIDE)) {
        err = "must be 1 to 2048 pixels wide and high";
    }
    if (err) {
        memset(info, 0, sizeof(*info));
    }
    return err;
}

/* padded standard base64: whole quads, '=' only as the last one or two */
static int base64_ok(const char *b64, apr_size_t n)
{
    apr_size_t body = strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

    return n > 0 && n % 4 == 0 && n - body <= 2 && strspn(b64 + body, "=") == n - body;
}

const char *pm_image_from_data_url(apr_pool_t *p, const char *url, const unsigned char **bytes,
                                   apr_size_t *len, pm_image_info *info)
{
    static const char *const types[] = { "image/png", "image/jpeg", NULL };
    const char *const *t;
    const char *b64 = NULL, *err;
    unsigned char *buf;
    apr_size_t n;
    int got;

    memset(info, 0, sizeof(*info));
    *bytes = NULL;
    *len = 0;
    for (t = types; url && *t; t++) {
        const char *prefix = apr_pstrcat(p, "data:", *t, ";base64,", NULL);
        if (strncmp(url, prefix, strlen(prefix)) == 0) {
            b64 = url + strlen(prefix);
            break;
        }
    }
    if (b64 == NULL) {
        return "must be a PNG or JPEG image (a data:image/png or data:image/jpeg base64 URL)";
    }
    n = strlen(b64);
    if (n > (apr_size_t)PM_IMAGE_MAX_BYTES / 3 * 4 + 4) {
        return "must be at most 100 KB";
    }
    if (!base64_ok(b64, n)) {
        return "is not valid base64 image data";
    }
    buf = apr_palloc(p, (apr_size_t)apr_base64_decode_len(b64));
    got = apr_base64_decode_binary(buf, b64);
    if (got <= 0) {
        return "is not valid base64 image data";
    }
    if ((err = pm_image_check(buf, (apr_size_t)got, info)) != NULL) {
        return err;
    }
    if (strcmp(info->type, *t) != 0) {
        memset(info, 0, sizeof(*info));
        return apr_pstrcat(p, "is labelled ", *t, " but holds another kind of image", NULL);
    }
    *bytes = buf;
    *len = (apr_size_t)got;
    return NULL;
}
