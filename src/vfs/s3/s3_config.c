/*
 * S3 settings: defaults, checked setting of the vfs.s3.* options, and the resolution of
 * what is left unset from the AWS environment and the shared ~/.aws files, as the AWS
 * SDKs and CLI do. Every getenv of radi lives in this file, and the shared files are
 * read only through the local VFS backend handed in (never fopen), so tests can watch
 * every byte. A broken setup never fails here: it becomes c->deferred_error, which the
 * first S3 call reports, so local work is never stopped by an S3 problem.
 *
 * "Unset" is NULL for strings and -1 for use_virtual_addressing; rdi_s3_config_init
 * allocates nothing (it cannot fail), so region and scheme are NULL until resolve
 * writes the defaults. Resolve with local == NULL reads nothing and only writes those
 * defaults (region, scheme, addressing style): what a test of the backend wants.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "vfs/s3/s3.h"
#include "vfs/s3/s3_config.h"

#define MIB ((uint64_t)1 << 20)
#define DEFAULT_REGION "us-east-1"
#define DEFAULT_SCHEME "https"
/* Shared files are small; anything bigger is not an AWS file and is not parsed. */
#define SHARED_FILE_MAX ((uint64_t)1 << 20)
#define SECRET_MAX 16384

void rdi_s3_config_init(rdi_s3_config *c)
{
    memset(c, 0, sizeof *c);
    c->use_virtual_addressing = -1;
    c->max_parallel_ops = 8;
    c->multipart_part_size = 50 * MIB;
    c->multipart_copy_threshold = 5120 * MIB;
    c->connect_timeout_ms = 3000;
    c->lock_lease_ms = 30000;
    c->request_timeout_ms = 30000;
    c->max_retries = 5;
    c->verify_ssl = 1;
    c->use_environment = 1;
}

/* The string fields, for free and copy. */
#define S3_STRINGS(X) X(region) X(endpoint) X(scheme) X(ca_file) X(access_key_id) \
    X(secret_access_key) X(session_token) X(profile) X(deferred_error)

/* Overwrites a secret before freeing it, so that it does not linger in freed heap. */
static void free_secret(char *s)
{
    if (!s) return;
    volatile char *p = s;
    while (*p) *p++ = '\0';
    free(s);
}

void rdi_s3_config_free(rdi_s3_config *c)
{
    if (!c) return;
    free_secret(c->secret_access_key);
    free_secret(c->session_token);
    c->secret_access_key = c->session_token = NULL;
#define FREE_FIELD(f) free(c->f);
    S3_STRINGS(FREE_FIELD)
#undef FREE_FIELD
    rdi_s3_config_init(c);
}

radi_status rdi_s3_config_copy(const rdi_s3_config *src, rdi_s3_config *dst)
{
    rdi_s3_config t = *src;
    int ok = 1;
#define COPY_FIELD(f) \
    t.f = NULL;       \
    if (src->f && ok && !(t.f = rdi_strdup(src->f))) ok = 0;
    S3_STRINGS(COPY_FIELD)
#undef COPY_FIELD
    if (!ok) {
        rdi_s3_config_free(&t);
        return RADI_E_NOMEM;
    }
    *dst = t;
    return RADI_OK;
}

int rdi_s3_config_is_secret(const char *name)
{
    /* The key id is not a secret to AWS, but it names an identity: masked as well. */
    return name && (!strcmp(name, "aws_access_key_id") || !strcmp(name, "aws_secret_access_key") ||
                    !strcmp(name, "aws_session_token"));
}

/* ---------------------------------------------------------------- values -- */

int rdi_parse_u64(const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!*v) return 0;
    uint64_t x = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        unsigned d = (unsigned)(*p - '0');
        if (x > (UINT64_MAX - d) / 10) return 0;
        x = x * 10 + d;
    }
    if (x < lo || x > hi) return 0;
    *out = x;
    return 1;
}

int rdi_parse_bool(const char *v, int *out)
{
    if (!strcasecmp(v, "true") || !strcmp(v, "1")) *out = 1;
    else if (!strcasecmp(v, "false") || !strcmp(v, "0")) *out = 0;
    else return 0;
    return 1;
}

static int has_control(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return 1;
    return 0;
}

/* Host names and IPv4/IPv6 literals: letters, digits, '-', '.', and ':' inside brackets. */
static int valid_host(const char *h, size_t n)
{
    if (n == 0 || n > 253) return 0;
    if (h[0] == '[') {
        if (n < 3 || h[n - 1] != ']') return 0;
        for (size_t i = 1; i + 1 < n; i++)
            if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.') return 0;
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_') return 0;
    return 1;
}

/* Splits "http(s)://host[:port][/]" or "host[:port]" into a scheme (NULL if none was
 * given) and "host[:port]". Returns a static reason on failure, NULL on success. */
static const char *parse_endpoint(const char *v, const char **scheme, const char **hp, size_t *hpn)
{
    *scheme = NULL;
    const char *p = v;
    if (!strncasecmp(p, "https://", 8)) {
        *scheme = "https";
        p += 8;
    } else if (!strncasecmp(p, "http://", 7)) {
        *scheme = "http";
        p += 7;
    } else if (strstr(p, "://")) {
        return "the scheme must be http or https";
    }
    size_t n = strcspn(p, "/?#");
    if (p[n] == '/' && p[n + 1] == '\0') {
        /* one trailing slash is fine */
    } else if (p[n] != '\0') {
        return "a path, query or fragment is not allowed (expected [http(s)://]host[:port])";
    }
    if (memchr(p, '@', n)) return "user information is not allowed in the endpoint";
    /* The port is after the last ':' that is not inside an IPv6 literal. */
    size_t hostn = n;
    const char *close = memchr(p, ']', n);
    const char *from = close ? close : p;
    const char *colon = memchr(from, ':', n - (size_t)(from - p));
    if (colon) {
        hostn = (size_t)(colon - p);
        uint64_t port;
        char buf[8];
        size_t pn = n - hostn - 1;
        if (pn == 0 || pn >= sizeof buf) return "the port must be 1..65535";
        memcpy(buf, colon + 1, pn);
        buf[pn] = '\0';
        if (!rdi_parse_u64(buf, 1, 65535, &port)) return "the port must be 1..65535";
    }
    if (!valid_host(p, hostn)) return "the host is empty or holds characters a host name cannot";
    *hp = p;
    *hpn = n;
    return NULL;
}

static radi_status bad(const char *name, const char *value, const char *expect)
{
    if (rdi_s3_config_is_secret(name) || !value)
        return rdi_error(RADI_E_INVALID, "vfs.s3.%s: %s", name, expect);
    return rdi_error(RADI_E_INVALID, "vfs.s3.%s: %s, got '%.80s'", name, expect, value);
}

/* Replaces *slot by a copy of v (NULL = unset). */
static radi_status set_str(char **slot, const char *v, int secret)
{
    char *n = NULL;
    if (v && !(n = rdi_strdup(v))) return RADI_E_NOMEM;
    if (secret) free_secret(*slot);
    else free(*slot);
    *slot = n;
    return RADI_OK;
}

typedef struct num_opt {
    const char *name;
    uint64_t lo, hi, def;
    size_t off;      /* offset of the field in rdi_s3_config */
    int wide;        /* uint64_t field, else uint32_t */
    uint64_t scale;  /* the value is multiplied by this (the _mb spelling) */
} num_opt;

static const num_opt NUM_OPTS[] = {
    {"max_parallel_ops", 1, 1024, 8, offsetof(rdi_s3_config, max_parallel_ops), 0, 1},
    /* S3's own limits on a part: 5 MiB .. 5 GiB */
    {"multipart_part_size", 5 * MIB, 5120 * MIB, 50 * MIB, offsetof(rdi_s3_config, multipart_part_size), 1, 1},
    {"multipart_part_size_mb", 5, 5120, 50, offsetof(rdi_s3_config, multipart_part_size), 1, MIB},
    /* Up to 5 GiB a single CopyObject works on AWS; above, it is refused. Below 5 MiB a
     * multipart copy would only cost requests. */
    {"multipart_copy_threshold", 5 * MIB, 5120 * MIB, 5120 * MIB,
     offsetof(rdi_s3_config, multipart_copy_threshold), 1, 1},
    {"connect_timeout_ms", 1, 600000, 3000, offsetof(rdi_s3_config, connect_timeout_ms), 0, 1},
    {"request_timeout_ms", 1, 86400000, 30000, offsetof(rdi_s3_config, request_timeout_ms), 0, 1},
    {"max_retries", 0, 100, 5, offsetof(rdi_s3_config, max_retries), 0, 1},
    {"lock_lease_ms", 1000, 86400000, 30000, offsetof(rdi_s3_config, lock_lease_ms), 0, 1},
};

static radi_status set_endpoint(rdi_s3_config *c, const char *value)
{
    if (!value) return set_str(&c->endpoint, NULL, 0);
    const char *scheme, *hp;
    size_t hpn;
    const char *why = parse_endpoint(value, &scheme, &hp, &hpn);
    /* Not echoed: an endpoint may carry credentials the user did not mean to show. */
    if (why) return rdi_error(RADI_E_INVALID, "vfs.s3.endpoint: %s", why);
    char *e = rdi_strndup(hp, hpn), *s = scheme ? rdi_strdup(scheme) : NULL;
    if (!e || (scheme && !s)) {
        free(e);
        free(s);
        return RADI_E_NOMEM;
    }
    free(c->endpoint);
    c->endpoint = e;
    if (s) {
        free(c->scheme);
        c->scheme = s;
    }
    return RADI_OK;
}

static int known_name(const char *name)
{
    static const char *const NAMES[] = {
        "region", "endpoint", "scheme", "use_virtual_addressing", "max_parallel_ops",
        "multipart_part_size", "multipart_part_size_mb", "multipart_copy_threshold", "connect_timeout_ms",
        "request_timeout_ms", "max_retries", "lock_lease_ms", "verify_ssl", "ca_file", "aws_access_key_id",
        "aws_secret_access_key", "aws_session_token", "profile", "use_environment",
    };
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
        if (!strcmp(name, NAMES[i])) return 1;
    return 0;
}

radi_status rdi_s3_config_set(rdi_s3_config *c, const char *name, const char *value)
{
    if (!c || !name) return rdi_error(RADI_E_INVALID, "rdi_s3_config_set: NULL argument");
    if (!known_name(name)) return rdi_error(RADI_E_INVALID, "unknown option 'vfs.s3.%.80s'", name);
    int secret = rdi_s3_config_is_secret(name);
    if (value && has_control(value)) return bad(name, NULL, "the value holds a control character");
    for (size_t i = 0; i < sizeof NUM_OPTS / sizeof NUM_OPTS[0]; i++) {
        const num_opt *o = &NUM_OPTS[i];
        if (strcmp(name, o->name)) continue;
        uint64_t v = o->def;
        if (value && !rdi_parse_u64(value, o->lo, o->hi, &v)) {
            char expect[96];
            snprintf(expect, sizeof expect, "expected an integer %llu..%llu",
                     (unsigned long long)o->lo, (unsigned long long)o->hi);
            return bad(name, value, expect);
        }
        v *= o->scale;
        char *field = (char *)c + o->off;
        if (o->wide) memcpy(field, &v, sizeof(uint64_t));
        else {
            uint32_t v32 = (uint32_t)v;
            memcpy(field, &v32, sizeof v32);
        }
        return RADI_OK;
    }
    int *flag = !strcmp(name, "use_virtual_addressing") ? &c->use_virtual_addressing
              : !strcmp(name, "verify_ssl") ? &c->verify_ssl
              : !strcmp(name, "use_environment") ? &c->use_environment
              : NULL;
    if (flag) {
        int b = flag == &c->use_virtual_addressing ? -1 : 1; /* the defaults */
        if (value && !rdi_parse_bool(value, &b)) return bad(name, value, "expected true, false, 1 or 0");
        *flag = b;
        return RADI_OK;
    }
    if (!strcmp(name, "endpoint")) return set_endpoint(c, value);
    if (!strcmp(name, "scheme")) {
        if (!value) return set_str(&c->scheme, NULL, 0);
        if (strcasecmp(value, "http") && strcasecmp(value, "https"))
            return bad(name, value, "expected http or https");
        return set_str(&c->scheme, tolower((unsigned char)value[4]) == 's' ? "https" : "http", 0);
    }
    if (!strcmp(name, "region")) {
        if (value) {
            size_t n = strlen(value);
            if (n == 0 || n > 64 || strspn(value, "abcdefghijklmnopqrstuvwxyz"
                                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != n)
                return bad(name, value, "expected 1..64 letters, digits, '-', '_' or '.'");
        }
        return set_str(&c->region, value, 0);
    }
    if (!strcmp(name, "profile")) {
        if (value && (!*value || strlen(value) > 256 || strpbrk(value, "[]")))
            return bad(name, value, "expected a profile name");
        return set_str(&c->profile, value, 0);
    }
    if (!strcmp(name, "ca_file")) {
        if (value && (!*value || strlen(value) > 4096)) return bad(name, value, "expected the path of a PEM file");
        return set_str(&c->ca_file, value, 0);
    }
    if (secret) {
        /* "" is allowed: an explicitly empty key pair means anonymous requests. */
        if (value && strlen(value) > SECRET_MAX) return bad(name, NULL, "the value is too long");
        char **slot = !strcmp(name, "aws_access_key_id") ? &c->access_key_id
                    : !strcmp(name, "aws_secret_access_key") ? &c->secret_access_key
                    : &c->session_token;
        return set_str(slot, value, 1);
    }
    return rdi_error(RADI_E_INTERNAL, "vfs.s3.%s: known but not handled", name);
}

/* ------------------------------------------------------------ INI files -- */

static void profile_vals_free(rdi_ini_profile *p)
{
    free(p->access_key_id);
    free_secret(p->secret_access_key);
    free_secret(p->session_token);
    free(p->region);
    free(p->endpoint_url);
    free(p->s3_endpoint_url);
    free(p->s3_addressing_style);
    memset(p, 0, sizeof *p);
}

void rdi_ini_profile_free(rdi_ini_profile *p) { profile_vals_free(p); }

static const char *trim(const char *s, const char *e, const char **end)
{
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
    *end = e;
    return s;
}

static int eq(const char *s, size_t n, const char *lit) { return strlen(lit) == n && !strncasecmp(s, lit, n); }

/* The profile a section header names, or 0 if it names none (config style:
 * "default" or "profile NAME"; credentials style: any name). */
static int section_profile(const char *s, size_t n, int config_style, const char **name, size_t *nn)
{
    if (config_style && n > 8 && !strncmp(s, "profile", 7) && (s[7] == ' ' || s[7] == '\t')) {
        const char *e;
        *name = trim(s + 8, s + n, &e);
        *nn = (size_t)(e - *name);
        return *nn > 0;
    }
    if (config_style && !eq(s, n, "default")) return 0;
    *name = s;
    *nn = n;
    return 1;
}

radi_status rdi_ini_parse(const char *text, size_t len, const char *what, const char *profile,
                          int config_style, rdi_ini_profile *out, char **problem)
{
    memset(out, 0, sizeof *out);
    *problem = NULL;
    /* A problem names the file and the line, never the line's text (it may be a secret). */
#define PROBLEM(...)                                        \
    do {                                                    \
        profile_vals_free(out);                             \
        *problem = rdi_asprintf(__VA_ARGS__);               \
        return *problem ? RADI_OK : RADI_E_NOMEM;           \
    } while (0)
    int in_section = 0, in_target = 0;
    /* As Python's configparser (which the AWS tools use): a line indented deeper than
     * the last setting of its section continues that setting; after "s3 =" (an empty
     * value) such lines are the nested "key = value" settings of s3. */
    int have_opt = 0;
    size_t opt_indent = 0;
    char parent[32] = "";  /* the last setting, when its value was empty */
    size_t lineno = 0;
    const char *p = text, *end = text + len;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3; /* a UTF-8 byte order mark */
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lineno++;
        const char *ls = p;
        p = nl ? nl + 1 : end;
        if (memchr(ls, '\0', (size_t)(le - ls))) {
            PROBLEM("%s line %zu: a NUL byte (not a text file)", what, lineno);
        }
        const char *e;
        const char *s = trim(ls, le, &e);
        if (s == e || *s == '#' || *s == ';') continue;
        size_t indent = (size_t)(s - ls);
        int continuation = have_opt && indent > opt_indent;
        if (*s == '[' && !continuation) {
            if (e[-1] != ']' || e - s < 2) {
                PROBLEM("%s line %zu: a section header without its closing ']'", what, lineno);
            }
            const char *ne;
            const char *ns = trim(s + 1, e - 1, &ne);
            const char *name;
            size_t nn;
            in_section = 1;
            have_opt = 0;
            parent[0] = '\0';
            in_target = section_profile(ns, (size_t)(ne - ns), config_style, &name, &nn) &&
                        nn == strlen(profile) && !memcmp(name, profile, nn);
            if (in_target) out->found = 1;
            continue;
        }
        const char *eqp = s;
        while (eqp < e && *eqp != '=' && *eqp != ':') eqp++;
        if (continuation && (eqp == e || !parent[0])) continue; /* part of a multi-line value */
        if (eqp == e) {
            PROBLEM("%s line %zu: expected 'key = value' or a [section]", what, lineno);
        }
        if (!in_section) {
            PROBLEM("%s line %zu: a setting before any [section]", what, lineno);
        }
        const char *ke, *ve;
        const char *k = trim(s, eqp, &ke);
        const char *v = trim(eqp + 1, e, &ve);
        size_t kn = (size_t)(ke - k), vn = (size_t)(ve - v);
        if (kn == 0) {
            PROBLEM("%s line %zu: a setting without a name", what, lineno);
        }
        if (!continuation) {
            have_opt = 1;
            opt_indent = indent;
            parent[0] = '\0';
            if (vn == 0 && kn < sizeof parent) {
                memcpy(parent, k, kn);
                parent[kn] = '\0';
            }
        }
        int indented = continuation;
        if (!in_target) continue;
        char **slot = NULL;
        int secret = 0;
        if (indented) {
            if (!strcasecmp(parent, "s3") && eq(k, kn, "endpoint_url")) slot = &out->s3_endpoint_url;
            else if (!strcasecmp(parent, "s3") && eq(k, kn, "addressing_style")) slot = &out->s3_addressing_style;
        } else if (eq(k, kn, "aws_access_key_id")) {
            slot = &out->access_key_id;
        } else if (eq(k, kn, "aws_secret_access_key")) {
            slot = &out->secret_access_key;
            secret = 1;
        } else if (eq(k, kn, "aws_session_token")) {
            slot = &out->session_token;
            secret = 1;
        } else if (eq(k, kn, "region")) {
            slot = &out->region;
        } else if (eq(k, kn, "endpoint_url")) {
            slot = &out->endpoint_url;
        }
        if (!slot) continue;
        char *val = rdi_strndup(v, vn);
        if (!val) {
            profile_vals_free(out);
            return RADI_E_NOMEM;
        }
        /* The last occurrence wins, as in the AWS parsers. */
        if (secret) free_secret(*slot);
        else free(*slot);
        *slot = val;
    }
#undef PROBLEM
    return RADI_OK;
}

/* ------------------------------------------------------------ resolution -- */

/* getenv, with an empty variable read as unset (as the AWS tools do). */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

typedef struct resolver {
    rdi_s3_config *c;
    const rdi_vfs_ops *local;
    void *local_self;
    const char *profile;     /* the profile looked up in the shared files */
    int profile_named;       /* by vfs.s3.profile or AWS_PROFILE: it must exist */
    int profile_explicit;    /* by vfs.s3.profile: AWS_* keys are then not used (as botocore) */
    int loaded[2];           /* [0] credentials file, [1] config file */
    char *path[2];
    rdi_ini_profile vals[2];
} resolver;

/* Records a problem for the first S3 call; the first one wins. Only NOMEM is returned. */
static radi_status defer(rdi_s3_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static radi_status defer(rdi_s3_config *c, const char *fmt, ...)
{
    if (c->deferred_error) return RADI_OK;
    va_list ap;
    va_start(ap, fmt);
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    c->deferred_error = rdi_strdup(buf);
    return c->deferred_error ? RADI_OK : RADI_E_NOMEM;
}

/* "~/x" and "~" expand to $HOME, as the AWS tools do for these variables. */
static char *expand_home(const char *p)
{
    const char *home = env("HOME");
    if (p[0] == '~' && (p[1] == '/' || p[1] == '\0') && home) return rdi_asprintf("%s%s", home, p + 1);
    return rdi_strdup(p);
}

/* Reads and parses one shared file once. A missing file is an empty one (as botocore);
 * an unreadable, oversized or malformed one is a deferred error. */
static radi_status load(resolver *r, int which)
{
    if (r->loaded[which]) return RADI_OK;
    r->loaded[which] = 1;
    const char *kind = which ? "config" : "credentials";
    const char *given = env(which ? "AWS_CONFIG_FILE" : "AWS_SHARED_CREDENTIALS_FILE");
    char *path = NULL;
    if (given) path = expand_home(given);
    else if (env("HOME")) path = rdi_asprintf("%s/.aws/%s", env("HOME"), kind);
    else return RADI_OK; /* no home: no default files */
    if (!path) return RADI_E_NOMEM;
    r->path[which] = path;
    uint64_t size = 0;
    radi_status s = r->local->size(r->local_self, path, &size);
    if (s == RADI_E_NOT_FOUND) return RADI_OK;
    if (s == RADI_E_NOMEM) return s;
    if (s != RADI_OK) return defer(r->c, "cannot read the AWS %s file: %s", kind, radi_errmsg());
    if (size > SHARED_FILE_MAX)
        return defer(r->c, "the AWS %s file %s is larger than %llu bytes: not read", kind, path,
                     (unsigned long long)SHARED_FILE_MAX);
    char *text = rdi_malloc((size_t)size + 1);
    if (!text) return RADI_E_NOMEM;
    s = r->local->read(r->local_self, path, 0, text, size);
    if (s == RADI_OK) {
        char *problem = NULL;
        s = rdi_ini_parse(text, (size_t)size, path, r->profile, which, &r->vals[which], &problem);
        if (s == RADI_OK && problem) s = defer(r->c, "the AWS %s file is malformed: %s", kind, problem);
        free(problem);
    } else if (s != RADI_E_NOMEM) {
        s = defer(r->c, "cannot read the AWS %s file: %s", kind, radi_errmsg());
    }
    /* The buffer held secrets. */
    memset(text, 0, (size_t)size);
    free(text);
    return s;
}

/* Takes a key pair (and token) from one source, or defers if the pair is half there. */
static radi_status take_pair(rdi_s3_config *c, const char *id, const char *secret, const char *token,
                             const char *id_name, const char *secret_name, const char *where)
{
    if (!id || !secret)
        return defer(c, "%s%s and %s must be set together (%s is missing)", where, id_name, secret_name,
                     id ? secret_name : id_name);
    radi_status s = set_str(&c->access_key_id, id, 1);
    if (s == RADI_OK) s = set_str(&c->secret_access_key, secret, 1);
    if (s == RADI_OK) s = set_str(&c->session_token, token, 1);
    return s;
}

static radi_status resolve_credentials(resolver *r)
{
    rdi_s3_config *c = r->c;
    if (!r->profile_explicit) {
        const char *id = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
        if (id || secret)
            return take_pair(c, id, secret, env("AWS_SESSION_TOKEN"), "AWS_ACCESS_KEY_ID",
                             "AWS_SECRET_ACCESS_KEY", "");
    }
    /* The credentials file first, then the config file, as the AWS tools do. */
    for (int which = 0; which < 2; which++) {
        RDI_TRY(load(r, which));
        const rdi_ini_profile *v = &r->vals[which];
        if (!v->found || (!v->access_key_id && !v->secret_access_key)) continue;
        char where[512];
        snprintf(where, sizeof where, "%s, profile '%s': ", r->path[which], r->profile);
        return take_pair(c, v->access_key_id, v->secret_access_key, v->session_token,
                         "aws_access_key_id", "aws_secret_access_key", where);
    }
    return RADI_OK; /* nothing anywhere: anonymous requests */
}

/* Sets the endpoint from a source other than the options: the scheme only if unset. */
static radi_status endpoint_from(rdi_s3_config *c, const char *value, const char *source)
{
    const char *scheme, *hp;
    size_t hpn;
    const char *why = parse_endpoint(value, &scheme, &hp, &hpn);
    if (why) return defer(c, "%s is not a usable S3 endpoint: %s", source, why);
    char *e = rdi_strndup(hp, hpn);
    if (!e) return RADI_E_NOMEM;
    free(c->endpoint);
    c->endpoint = e;
    if (scheme && !c->scheme) return set_str(&c->scheme, scheme, 0);
    return RADI_OK;
}

static radi_status region_from(rdi_s3_config *c, const char *value, const char *source)
{
    radi_status s = rdi_s3_config_set(c, "region", value);
    if (s == RADI_E_INVALID) return defer(c, "%s: %s", source, radi_errmsg());
    return s;
}

static radi_status resolve_environment(resolver *r)
{
    rdi_s3_config *c = r->c;
    if (!c->profile) {
        const char *p = env("AWS_PROFILE");
        if (p) {
            RDI_TRY(set_str(&c->profile, p, 0));
            r->profile_named = 1;
        }
    } else {
        r->profile_named = r->profile_explicit = 1;
    }
    r->profile = c->profile ? c->profile : "default";

    if (!c->access_key_id && !c->secret_access_key && !c->session_token) RDI_TRY(resolve_credentials(r));

    if (!c->region) {
        const char *v = env("AWS_REGION");
        const char *src = "AWS_REGION";
        if (!v && (v = env("AWS_DEFAULT_REGION"))) src = "AWS_DEFAULT_REGION";
        if (v) {
            RDI_TRY(region_from(c, v, src));
        } else {
            RDI_TRY(load(r, 1));
            if (r->vals[1].region) RDI_TRY(region_from(c, r->vals[1].region, r->path[1]));
        }
    }

    if (!c->endpoint) {
        const char *v = env("AWS_ENDPOINT_URL_S3");
        const char *src = "AWS_ENDPOINT_URL_S3";
        if (!v && (v = env("AWS_ENDPOINT_URL"))) src = "AWS_ENDPOINT_URL";
        if (v) {
            RDI_TRY(endpoint_from(c, v, src));
        } else {
            RDI_TRY(load(r, 1));
            const rdi_ini_profile *f = &r->vals[1];
            const char *u = f->s3_endpoint_url ? f->s3_endpoint_url : f->endpoint_url;
            if (u) RDI_TRY(endpoint_from(c, u, r->path[1]));
        }
    }

    if (c->use_virtual_addressing < 0) {
        RDI_TRY(load(r, 1));
        const char *style = r->vals[1].s3_addressing_style;
        if (style && !strcasecmp(style, "virtual")) c->use_virtual_addressing = 1;
        else if (style && !strcasecmp(style, "path")) c->use_virtual_addressing = 0;
    }

    /* A profile asked for by name must exist (botocore's ProfileNotFound), once the
     * shared files were needed at all. */
    if (r->profile_named && (r->loaded[0] || r->loaded[1])) {
        RDI_TRY(load(r, 0));
        RDI_TRY(load(r, 1));
        if (!r->vals[0].found && !r->vals[1].found)
            RDI_TRY(defer(c, "the AWS profile '%s' is in neither %s nor %s", r->profile,
                          r->path[0] ? r->path[0] : "the credentials file (no HOME)",
                          r->path[1] ? r->path[1] : "the config file (no HOME)"));
    }
    return RADI_OK;
}

/* Checks explicitly given keys: a full pair, or an explicitly empty pair (anonymous). */
static radi_status check_explicit_keys(rdi_s3_config *c)
{
    int id = c->access_key_id && *c->access_key_id, sk = c->secret_access_key && *c->secret_access_key;
    int tok = c->session_token && *c->session_token;
    if (id && sk) return RADI_OK;
    radi_status s = RADI_OK;
    if (id || sk)
        s = defer(c, "vfs.s3.aws_access_key_id and vfs.s3.aws_secret_access_key must be set together (%s is missing)",
                  id ? "vfs.s3.aws_secret_access_key" : "vfs.s3.aws_access_key_id");
    else if (tok)
        s = defer(c, "vfs.s3.aws_session_token is set without vfs.s3.aws_access_key_id and "
                     "vfs.s3.aws_secret_access_key");
    /* Never sign with half a pair: anonymous, and the first S3 call reports the problem. */
    free(c->access_key_id);
    free_secret(c->secret_access_key);
    free_secret(c->session_token);
    c->access_key_id = c->secret_access_key = c->session_token = NULL;
    return s;
}

radi_status rdi_s3_config_resolve(rdi_s3_config *c, const rdi_vfs_ops *local, void *local_self)
{
    int explicit_keys = c->access_key_id || c->secret_access_key || c->session_token;
    radi_status s = RADI_OK;
    if (c->use_environment && local) { /* local NULL: the defaults only */
        resolver r = {.c = c, .local = local, .local_self = local_self};
        s = resolve_environment(&r);
        for (int i = 0; i < 2; i++) {
            profile_vals_free(&r.vals[i]);
            free(r.path[i]);
        }
    }
    if (s == RADI_OK && explicit_keys) s = check_explicit_keys(c);
    if (s == RADI_OK && !c->region) s = set_str(&c->region, DEFAULT_REGION, 0);
    if (s == RADI_OK && !c->scheme) s = set_str(&c->scheme, DEFAULT_SCHEME, 0);
    /* Path style for custom endpoints (MinIO and friends rarely resolve bucket.host). */
    if (c->use_virtual_addressing < 0) c->use_virtual_addressing = c->endpoint ? 0 : 1;
    return s;
}
