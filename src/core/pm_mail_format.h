/* pm_mail_format.h — the text of an invitation email: header encoding (RFC 2047
 * encoded-words, folding to 78 columns), mailbox and date formatting, HTML
 * escaping, and the {{placeholder}} templates (their default texts are in the
 * catalogs, pm_catalog.h). Pure. */
#ifndef PM_MAIL_FORMAT_H
#define PM_MAIL_FORMAT_H

#include <apr_pools.h>
#include <apr_time.h>

#define PM_MAIL_LINE_MAX 78

/* 1 when s holds no CR, LF or NUL (checked before anything reaches libcurl). */
int pm_mail_header_safe(const char *s);

/* "Name: value" folded with CRLF SP so no line exceeds 78 characters; non-ASCII
 * (or over-long) values become UTF-8 encoded-words. value is untrusted: bytes
 * that are not well-formed UTF-8 are encoded as U+FFFD (never refused, never a
 * hang), and control characters including CR/LF end up inside encoded-words,
 * never raw on the line (pm_mail_header_safe still refuses CR/LF upstream). */
const char *pm_mail_header(apr_pool_t *p, const char *name, const char *value);

/* "Name: Display <addr>" folded like pm_mail_header, no line over 78 characters:
 * the display name is atoms, a quoted string (when that fits in 66 columns with
 * its backslashes doubled) or encoded-words (invalid UTF-8 as U+FFFD); the fold
 * may come right after "Name:". The one exception: an address longer than 75
 * characters cannot be folded inside (RFC 5322), so "<addr>" then stands alone
 * on its folded line (at most 257 columns for a 254-character address, far
 * below the 998 limit). */
const char *pm_mail_mailbox_header(apr_pool_t *p, const char *name, const char *display,
                                   const char *addr);

/* RFC 5322 date, e.g. "Tue, 24 Nov 2026 21:45:58 +0000". */
const char *pm_mail_date(apr_pool_t *p, apr_time_t t);

char *pm_html_escape(apr_pool_t *p, const char *s);

/* Template variables for invitation emails, and the words the HTML layout and
 * the footer add around the template (the caller's, in the recipient's language;
 * none is fixed here). NULL members are left out. */
typedef struct {
    const char *recipient_first_name;
    const char *practice_name;
    const char *link;
    const char *expires_at;
    const char *button_label;       /* the HTML link as a button; NULL: the bare URL */
    const char *link_hint;          /* under the button, before the raw link */
    const char *phone_label;        /* footer: "<phone_label>: <practice_phone>" */
    const char *practice_phone;
    const char *practice_address;   /* footer; may hold line breaks */
    const char *footer_note;        /* footer's last paragraph: why this email came */
    const char *lang;               /* the HTML part's lang attribute ("es"), or NULL */
    const char *changed_at;         /* an address notice's {{changed_at}} (the catalog's
                                     * texts only: not a placeholder of the settings'
                                     * templates, pm_template_problem refuses it there,
                                     * as it does {{practice_phone}}) */
} pm_mail_vars;

/* NULL when tmpl uses only known placeholders (and {{link}} when need_link). */
const char *pm_template_problem(apr_pool_t *p, const char *tmpl, int need_link);

/* Plain-text rendering. */
char *pm_template_text(apr_pool_t *p, const char *tmpl, const pm_mail_vars *v);

/* The text part's footer: "-- " then the practice name, phone and address lines
 * (whichever v has) and, after a blank line, the note; "" when it has none. */
char *pm_mail_footer_text(apr_pool_t *p, const pm_mail_vars *v);

/* The button's text colour on background #rrggbb: white or black, whichever
 * contrasts more (WCAG relative luminance): at least 4.5:1 on any colour. */
const char *pm_mail_on_color(const char *rrggbb);

/* HTML body: a table layout for mail clients (inline styles, no classes needed),
 * the template text escaped in blank-line paragraphs, {{link}} as a button-style
 * anchor in brand_color (#rrggbb; anything else: the default blue) with the raw
 * link under it, or a plain anchor when v has no button_label; the footer as
 * pm_mail_footer_text says; with_logo puts the inline image PM_MAIL_LOGO_CID on top. */
char *pm_template_html(apr_pool_t *p, const char *tmpl, const pm_mail_vars *v,
                       const char *brand_color, int with_logo);

#define PM_MAIL_LOGO_CID "practice-logo@portal-manager"

/* An inline image for the HTML part (the practice logo). */
typedef struct {
    const char *type;              /* image/png or image/jpeg */
    const unsigned char *data;
    apr_size_t len;
} pm_mail_image;

/* Splits "data:image/png;base64,...." (or image/jpeg) into an image; NULL when it
 * is not one. */
const pm_mail_image *pm_mail_image_from_data_url(apr_pool_t *p, const char *url);

/* Quoted-printable (RFC 2045) of UTF-8 text: line breaks become CRLF, lines are
 * cut with soft breaks so none exceeds 76 characters. */
char *pm_mail_qp_encode(apr_pool_t *p, const char *text);

/* Decoding, for the round-trip test; CRLF comes back as LF. */
char *pm_mail_qp_decode(apr_pool_t *p, const char *qp);

/* The whole message, CRLF line ends, no line over 78 characters: the given
 * header lines (already folded), MIME-Version, and a multipart/alternative body
 * with quoted-printable text/plain and text/html parts; with a logo, that sits in
 * a multipart/related next to the image (base64, Content-ID PM_MAIL_LOGO_CID). */
char *pm_mail_compose(apr_pool_t *p, const char *const *header_lines, int nheaders,
                      const char *text, const char *html, const char *boundary,
                      const pm_mail_image *logo);

#endif
