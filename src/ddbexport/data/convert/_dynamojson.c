/*
 * DynamoDB JSON lines of a FULL export ({"Item": {...}}) to plain JSON lines, byte for byte what
 * ddbexport.data.convert.values.json_safe_item + orjson.dumps write, without building a Python
 * object per value.
 *
 * The common shapes are converted here: S, N written as a JSON number without an exponent, M,
 * L, BOOL, NULL, canonical base64 B, SS, and NS of integers. Any line holding something else
 * (an exponent, a number set with fractions, a binary set, odd base64, a surrogate escape,
 * invalid UTF-8, deep nesting, anything that is not a record) is handed back untouched so that
 * the Python converter writes it, or raises its usual error, with its line number. So the
 * output never depends on which path wrote a line.
 *
 * The work runs without the GIL: threads convert chunks side by side.
 */
#define PY_SSIZE_T_CLEAN
/* The small helpers below are forced inline: they run for every byte or value. */
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef unsigned char uchar;

typedef struct {
    uchar *data;
    size_t len;
    size_t cap;
} Buffer;

typedef struct {
    const uchar *p;
    const uchar *end;
    Buffer *out;
    Buffer *scratch; /* decoded set members */
    int depth;
} Parser;

/* A piece of a buffer, by offset: buffers move when they grow. */
typedef struct {
    size_t start;
    size_t length;
} Span;

/* A line handed back to Python: where its output goes and where it is in the chunk. */
typedef struct {
    size_t out_offset;
    size_t line_index;
    size_t start;
    size_t stop;
} Handback;

#define MAX_DEPTH 40 /* DynamoDB nests 32 levels at most */
#define MAX_MEMBERS 64 /* of a set converted here */
#define MAX_KEYS 256   /* of a map converted here: each key is checked against the others */
#define FAIL (-1)
#define NO_MEMORY (-2)

static int reserve(Buffer *buffer, size_t more) {
    if (buffer->len + more <= buffer->cap) {
        return 0;
    }
    size_t cap = buffer->cap ? buffer->cap : 4096;
    while (cap < buffer->len + more) {
        cap *= 2;
    }
    uchar *grown = realloc(buffer->data, cap);
    if (grown == NULL) {
        return NO_MEMORY;
    }
    buffer->data = grown;
    buffer->cap = cap;
    return 0;
}

static inline __attribute__((always_inline)) int put(Buffer *buffer, const void *bytes, size_t count) {
    if (reserve(buffer, count) != 0) {
        return NO_MEMORY;
    }
    memcpy(buffer->data + buffer->len, bytes, count);
    buffer->len += count;
    return 0;
}

static inline __attribute__((always_inline)) int put_byte(Buffer *buffer, uchar byte) {
    if (buffer->len == buffer->cap && reserve(buffer, 1) != 0) {
        return NO_MEMORY;
    }
    buffer->data[buffer->len++] = byte;
    return 0;
}

static inline __attribute__((always_inline)) void skip_space(Parser *parser) {
    while (parser->p < parser->end) {
        uchar c = *parser->p;
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return;
        }
        parser->p++;
    }
}

static inline __attribute__((always_inline)) int expect(Parser *parser, uchar c) {
    skip_space(parser);
    if (parser->p >= parser->end || *parser->p != c) {
        return FAIL;
    }
    parser->p++;
    return 0;
}

/* ------------------------------------------------------------------------------- strings */

static const char HEX[] = "0123456789abcdef";

/* Bytes orjson writes as they are inside a string: 0 = as is, else the escape's letter, or 'u'. */
static uchar ESCAPE[256];

/* Bytes copied as they are in a run inside a string: printable ASCII but the quote and
   backslash. One table lookup per byte is what makes the common case fast. */
static uchar PLAIN[256];

static void init_escapes(void) {
    for (int c = 0x20; c < 0x80; c++) {
        PLAIN[c] = 1;
    }
    PLAIN['"'] = 0;
    PLAIN['\\'] = 0;
    for (int c = 0; c < 0x20; c++) {
        ESCAPE[c] = 'u';
    }
    ESCAPE['\b'] = 'b';
    ESCAPE['\t'] = 't';
    ESCAPE['\n'] = 'n';
    ESCAPE['\f'] = 'f';
    ESCAPE['\r'] = 'r';
    ESCAPE['"'] = '"';
    ESCAPE['\\'] = '\\';
}

static int put_escaped_byte(Buffer *out, uchar c) {
    uchar letter = ESCAPE[c];
    if (letter == 'u') {
        uchar text[6] = {'\\', 'u', '0', '0', (uchar)HEX[c >> 4], (uchar)HEX[c & 15]};
        return put(out, text, 6);
    }
    uchar text[2] = {'\\', letter};
    return put(out, text, 2);
}

/* The length of the valid UTF-8 sequence starting at p (lead byte >= 0x80), or 0. */
static size_t utf8_length(const uchar *p, const uchar *end) {
    uchar c = p[0];
    if (c >= 0xC2 && c <= 0xDF) {
        return (end - p >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) {
            return 0;
        }
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0)) {
            return 0; /* overlong, or a surrogate */
        }
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
            (p[3] & 0xC0) != 0x80) {
            return 0;
        }
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

static int hex_value(uchar c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(const uchar *p, const uchar *end, uint32_t *value) {
    if (end - p < 4) return FAIL;
    uint32_t result = 0;
    for (int i = 0; i < 4; i++) {
        int digit = hex_value(p[i]);
        if (digit < 0) return FAIL;
        result = (result << 4) | (uint32_t)digit;
    }
    *value = result;
    return 0;
}

static size_t encode_utf8(uint32_t code, uchar *text) {
    if (code < 0x80) {
        text[0] = (uchar)code;
        return 1;
    }
    if (code < 0x800) {
        text[0] = (uchar)(0xC0 | (code >> 6));
        text[1] = (uchar)(0x80 | (code & 0x3F));
        return 2;
    }
    if (code < 0x10000) {
        text[0] = (uchar)(0xE0 | (code >> 12));
        text[1] = (uchar)(0x80 | ((code >> 6) & 0x3F));
        text[2] = (uchar)(0x80 | (code & 0x3F));
        return 3;
    }
    text[0] = (uchar)(0xF0 | (code >> 18));
    text[1] = (uchar)(0x80 | ((code >> 12) & 0x3F));
    text[2] = (uchar)(0x80 | ((code >> 6) & 0x3F));
    text[3] = (uchar)(0x80 | (code & 0x3F));
    return 4;
}

/*
 * The first byte from p that is a quote, a backslash or, with `plain`, a control character or
 * not ASCII: where a string's run of bytes copied as they are ends. Sixteen bytes at a time
 * where SSE2 is (every x86-64): strings are most of what an export holds.
 */
static const uchar *run_end(const uchar *p, const uchar *end, int plain) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    /* signed: bytes from 0x80 are negative, so "below 0x20" catches them too */
    const __m128i space = plain ? _mm_set1_epi8(0x20) : _mm_set1_epi8(-128);
    while (end - p >= 16) {
        __m128i bytes = _mm_loadu_si128((const __m128i *)p);
        __m128i special = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)),
            _mm_cmplt_epi8(bytes, space));
        int mask = _mm_movemask_epi8(special);
        if (mask != 0) return p + __builtin_ctz((unsigned)mask);
        p += 16;
    }
#endif
    if (plain) {
        while (p < end && PLAIN[*p]) p++;
    } else {
        while (p < end && *p != '"' && *p != '\\') p++;
    }
    return p;
}

/*
 * Reads a JSON string (parser at its opening quote) and writes its text to `decoded` unescaped
 * (escaped is NULL) or, as orjson writes it, to `escaped` (with quotes). Lone surrogates,
 * control characters and invalid UTF-8 fail: orjson refuses them, so Python must say so.
 */
static int read_string(Parser *parser, Buffer *decoded, Buffer *escaped) {
    const uchar *p = parser->p;
    const uchar *end = parser->end;
    if (p >= end || *p != '"') return FAIL;
    p++;
    if (escaped != NULL && put_byte(escaped, '"') != 0) return NO_MEMORY;
    Buffer *target = escaped != NULL ? escaped : decoded;
    for (;;) {
        const uchar *run = p;
        /* A run of bytes written as they are: the common case, copied in one go. */
        p = run_end(p, end, 1);
        if (p > run && put(target, run, (size_t)(p - run)) != 0) return NO_MEMORY;
        if (p >= end) return FAIL;
        uchar c = *p;
        if (c == '"') {
            p++;
            break;
        }
        if (c < 0x20) return FAIL;
        if (c >= 0x80) {
            size_t length = utf8_length(p, end);
            if (length == 0) return FAIL;
            if (put(target, p, length) != 0) return NO_MEMORY;
            p += length;
            continue;
        }
        /* an escape */
        if (end - p < 2) return FAIL;
        uchar kind = p[1];
        uint32_t code;
        switch (kind) {
            case '"': code = '"'; p += 2; break;
            case '\\': code = '\\'; p += 2; break;
            case '/': code = '/'; p += 2; break;
            case 'b': code = '\b'; p += 2; break;
            case 'f': code = '\f'; p += 2; break;
            case 'n': code = '\n'; p += 2; break;
            case 'r': code = '\r'; p += 2; break;
            case 't': code = '\t'; p += 2; break;
            case 'u': {
                if (read_hex4(p + 2, end, &code) != 0) return FAIL;
                p += 6;
                if (code >= 0xDC00 && code <= 0xDFFF) return FAIL;
                if (code >= 0xD800 && code <= 0xDBFF) {
                    uint32_t low;
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return FAIL;
                    if (read_hex4(p + 2, end, &low) != 0) return FAIL;
                    if (low < 0xDC00 || low > 0xDFFF) return FAIL;
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                    p += 6;
                }
                break;
            }
            default:
                return FAIL;
        }
        if (escaped != NULL && code < 0x80 && ESCAPE[code]) {
            if (put_escaped_byte(escaped, (uchar)code) != 0) return NO_MEMORY;
        } else {
            uchar text[4];
            if (put(target, text, encode_utf8(code, text)) != 0) return NO_MEMORY;
        }
    }
    if (escaped != NULL && put_byte(escaped, '"') != 0) return NO_MEMORY;
    parser->p = p;
    return 0;
}

/* Writes decoded text as orjson writes a string. */
static int write_string(Buffer *out, const uchar *text, size_t length) {
    if (put_byte(out, '"') != 0) return NO_MEMORY;
    size_t start = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] < 0x80 && ESCAPE[text[i]]) {
            if (put(out, text + start, i - start) != 0) return NO_MEMORY;
            if (put_escaped_byte(out, text[i]) != 0) return NO_MEMORY;
            start = i + 1;
        }
    }
    if (put(out, text + start, length - start) != 0) return NO_MEMORY;
    return put_byte(out, '"');
}

/* The raw bytes between a string's quotes when it has no escapes (type tags, numbers, base64). */
static inline __attribute__((always_inline)) int read_plain_string(Parser *parser, const uchar **text, size_t *length) {
    if (expect(parser, '"') != 0) return FAIL;
    const uchar *start = parser->p;
    while (parser->p < parser->end && PLAIN[*parser->p]) parser->p++;
    if (parser->p >= parser->end || *parser->p != '"') return FAIL;
    *text = start;
    *length = (size_t)(parser->p - start);
    parser->p++;
    return 0;
}

/* ------------------------------------------------------------------------------- numbers */

/*
 * A number is written as the export holds it when the text is a JSON number orjson reads as an
 * int or a float. Exponents are left to Python (orjson refuses those that overflow a double,
 * and Python then writes the Decimal's text), as is anything that is not JSON.
 */
static int plain_json_number(const uchar *text, size_t length) {
    size_t i = 0;
    if (i < length && text[i] == '-') i++;
    if (i >= length) return 0;
    if (text[i] == '0') {
        i++;
    } else if (text[i] >= '1' && text[i] <= '9') {
        while (i < length && text[i] >= '0' && text[i] <= '9') i++;
    } else {
        return 0;
    }
    if (i < length && text[i] == '.') {
        i++;
        size_t digits = i;
        while (i < length && text[i] >= '0' && text[i] <= '9') i++;
        if (i == digits) return 0;
    }
    /* 300 digits stay far below a double's overflow (about 1.8e308). */
    return i == length && length <= 300;
}

/* An integer that Decimal writes back as the same text and that fits int64 with room to spare. */
static int small_integer(const uchar *text, size_t length, int64_t *value) {
    size_t i = 0;
    int negative = 0;
    if (length == 0 || length > 19) return 0;
    if (text[0] == '-') {
        negative = 1;
        i = 1;
    }
    if (i >= length || (text[i] == '0' && length > i + 1) || (negative && text[i] == '0')) {
        return 0; /* leading zeros, and -0 (equal to 0 in a set: which text wins is Python's) */
    }
    if (length - i > 18) return 0;
    int64_t result = 0;
    for (; i < length; i++) {
        if (text[i] < '0' || text[i] > '9') return 0;
        result = result * 10 + (text[i] - '0');
    }
    *value = negative ? -result : result;
    return 1;
}

/* ------------------------------------------------------------------------------- base64 */

static int base64_value(uchar c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Text that decoding and encoding again gives back unchanged. */
static int canonical_base64(const uchar *text, size_t length) {
    if (length % 4 != 0) return 0;
    if (length == 0) return 1;
    size_t padding = 0;
    if (text[length - 1] == '=') padding++;
    if (text[length - 2] == '=') padding++;
    for (size_t i = 0; i < length - padding; i++) {
        if (base64_value(text[i]) < 0) return 0;
    }
    int last = base64_value(text[length - padding - 1]);
    if (padding == 1 && (last & 0x3) != 0) return 0;
    if (padding == 2 && (last & 0xF) != 0) return 0;
    return 1;
}

/* ------------------------------------------------------------------------------- values */

static int write_value(Parser *parser);

/* After a member of an object or array: 1 when another follows (its comma consumed and, with
   `out`, written), 0 at `close` (consumed), FAIL on anything else. */
static inline int next_member(Parser *parser, uchar close, Buffer *out) {
    skip_space(parser);
    if (parser->p >= parser->end) return FAIL;
    uchar c = *parser->p++;
    if (c == ',') {
        if (out != NULL && put_byte(out, ',') != 0) return NO_MEMORY;
        return 1;
    }
    return c == close ? 0 : FAIL;
}

static int write_map(Parser *parser) {
    /* parser after '{' */
    if (++parser->depth > MAX_DEPTH) return FAIL;
    Buffer *out = parser->out;
    int status;
    if ((status = put_byte(out, '{')) != 0) return status;
    Span keys[MAX_KEYS];
    size_t key_count = 0;
    skip_space(parser);
    if (parser->p < parser->end && *parser->p == '}') {
        parser->p++;
    } else {
        for (;;) {
            skip_space(parser);
            size_t key_start = out->len;
            if ((status = read_string(parser, NULL, out)) != 0) return status;
            if (key_count == MAX_KEYS) return FAIL;
            /* A repeated key: Python keeps the last value at the first one's place. Written
               keys are compared, as escapes are already undone and redone in them. */
            Span key = {key_start, out->len - key_start};
            for (size_t i = 0; i < key_count; i++) {
                if (keys[i].length == key.length &&
                    memcmp(out->data + keys[i].start, out->data + key.start, key.length) == 0) {
                    return FAIL;
                }
            }
            keys[key_count++] = key;
            if (expect(parser, ':') != 0) return FAIL;
            if ((status = put_byte(out, ':')) != 0) return status;
            if ((status = write_value(parser)) != 0) return status;
            if ((status = next_member(parser, '}', out)) <= 0) break;
        }
        if (status != 0) return status;
    }
    parser->depth--;
    return put_byte(out, '}');
}

static int write_list(Parser *parser) {
    /* parser after '[' */
    if (++parser->depth > MAX_DEPTH) return FAIL;
    Buffer *out = parser->out;
    int status;
    if ((status = put_byte(out, '[')) != 0) return status;
    skip_space(parser);
    if (parser->p < parser->end && *parser->p == ']') {
        parser->p++;
    } else {
        for (;;) {
            if ((status = write_value(parser)) != 0) return status;
            if ((status = next_member(parser, ']', out)) <= 0) break;
        }
        if (status != 0) return status;
    }
    parser->depth--;
    return put_byte(out, ']');
}

/* Insertion sort of decoded strings by bytes: sets are small (at most MAX_MEMBERS here). */
static void sort_spans(Span *spans, size_t count, const uchar *base) {
    for (size_t i = 1; i < count; i++) {
        Span held = spans[i];
        size_t j = i;
        while (j > 0) {
            const Span *before = &spans[j - 1];
            size_t shorter = before->length < held.length ? before->length : held.length;
            int order = memcmp(base + before->start, base + held.start, shorter);
            if (order < 0 || (order == 0 && before->length <= held.length)) break;
            spans[j] = spans[j - 1];
            j--;
        }
        spans[j] = held;
    }
}

/* SS: the strings sorted (code point order is UTF-8 byte order) without repeats. */
static int write_string_set(Parser *parser) {
    if (expect(parser, '[') != 0) return FAIL;
    Buffer *scratch = parser->scratch;
    scratch->len = 0;
    Span spans[MAX_MEMBERS];
    size_t count = 0;
    int status;
    skip_space(parser);
    if (parser->p < parser->end && *parser->p == ']') {
        parser->p++;
    } else {
        do {
            if (count == MAX_MEMBERS) return FAIL; /* a bigger set is left to Python's sort */
            skip_space(parser);
            size_t start = scratch->len;
            if ((status = read_string(parser, scratch, NULL)) != 0) return status;
            spans[count].start = start;
            spans[count].length = scratch->len - start;
            count++;
        } while ((status = next_member(parser, ']', NULL)) > 0);
        if (status != 0) return status;
    }
    sort_spans(spans, count, scratch->data);
    Buffer *out = parser->out;
    if (put_byte(out, '[') != 0) return NO_MEMORY;
    for (size_t i = 0; i < count; i++) {
        if (i > 0) {
            const Span *a = &spans[i - 1];
            const Span *b = &spans[i];
            if (a->length == b->length &&
                memcmp(scratch->data + a->start, scratch->data + b->start, a->length) == 0) {
                continue;
            }
            if (put_byte(out, ',') != 0) return NO_MEMORY;
        }
        if (write_string(out, scratch->data + spans[i].start, spans[i].length) != 0) {
            return NO_MEMORY;
        }
    }
    return put_byte(out, ']');
}

static int compare_int64(const void *left, const void *right) {
    int64_t a = *(const int64_t *)left;
    int64_t b = *(const int64_t *)right;
    return (a > b) - (a < b);
}

/* NS of plain integers: sorted by value without repeats (Decimal writes them back unchanged). */
static int write_number_set(Parser *parser) {
    if (expect(parser, '[') != 0) return FAIL;
    int64_t numbers[MAX_MEMBERS];
    size_t count = 0;
    skip_space(parser);
    if (parser->p < parser->end && *parser->p == ']') {
        parser->p++;
    } else {
        int status;
        do {
            const uchar *text;
            size_t length;
            if (count == MAX_MEMBERS) return FAIL;
            if (read_plain_string(parser, &text, &length) != 0) return FAIL;
            if (!small_integer(text, length, &numbers[count])) return FAIL;
            count++;
        } while ((status = next_member(parser, ']', NULL)) > 0);
        if (status != 0) return status;
    }
    qsort(numbers, count, sizeof(int64_t), compare_int64);
    Buffer *out = parser->out;
    if (put_byte(out, '[') != 0) return NO_MEMORY;
    for (size_t i = 0; i < count; i++) {
        if (i > 0) {
            if (numbers[i] == numbers[i - 1]) continue;
            if (put_byte(out, ',') != 0) return NO_MEMORY;
        }
        char text[24];
        int length = snprintf(text, sizeof text, "%lld", (long long)numbers[i]);
        if (put(out, text, (size_t)length) != 0) return NO_MEMORY;
    }
    return put_byte(out, ']');
}

static int literal(Parser *parser, const char *word) {
    size_t length = strlen(word);
    skip_space(parser);
    if ((size_t)(parser->end - parser->p) < length || memcmp(parser->p, word, length) != 0) {
        return FAIL;
    }
    parser->p += length;
    return 0;
}

/* One typed value {"<tag>": ...} with exactly one tag. */
static int write_value(Parser *parser) {
    const uchar *tag;
    size_t tag_length;
    int status;
    Buffer *out = parser->out;
    if (expect(parser, '{') != 0) return FAIL;
    if (read_plain_string(parser, &tag, &tag_length) != 0) return FAIL;
    if (expect(parser, ':') != 0) return FAIL;
    skip_space(parser);
    if (tag_length == 1 && tag[0] == 'S') {
        status = read_string(parser, NULL, out);
    } else if (tag_length == 1 && tag[0] == 'N') {
        const uchar *text;
        size_t length;
        if (read_plain_string(parser, &text, &length) != 0) return FAIL;
        if (!plain_json_number(text, length)) return FAIL;
        status = put(out, text, length);
    } else if (tag_length == 1 && tag[0] == 'M') {
        if (expect(parser, '{') != 0) return FAIL;
        status = write_map(parser);
    } else if (tag_length == 1 && tag[0] == 'L') {
        if (expect(parser, '[') != 0) return FAIL;
        status = write_list(parser);
    } else if (tag_length == 4 && memcmp(tag, "BOOL", 4) == 0) {
        if (literal(parser, "true") == 0) {
            status = put(out, "true", 4);
        } else if (literal(parser, "false") == 0) {
            status = put(out, "false", 5);
        } else {
            return FAIL;
        }
    } else if (tag_length == 4 && memcmp(tag, "NULL", 4) == 0) {
        if (literal(parser, "true") != 0 && literal(parser, "false") != 0) return FAIL;
        status = put(out, "null", 4);
    } else if (tag_length == 1 && tag[0] == 'B') {
        const uchar *text;
        size_t length;
        if (read_plain_string(parser, &text, &length) != 0) return FAIL;
        if (!canonical_base64(text, length)) return FAIL;
        if ((status = put_byte(out, '"')) != 0) return status;
        if ((status = put(out, text, length)) != 0) return status;
        status = put_byte(out, '"');
    } else if (tag_length == 2 && tag[0] == 'S' && tag[1] == 'S') {
        status = write_string_set(parser);
    } else if (tag_length == 2 && tag[0] == 'N' && tag[1] == 'S') {
        status = write_number_set(parser);
    } else {
        return FAIL; /* BS, and anything that is not a DynamoDB type */
    }
    if (status != 0) return status;
    return expect(parser, '}');
}

/* One line: {"Item": {...}} and nothing else. 0 = written, FAIL = Python's, NO_MEMORY. */
static int write_line(Parser *parser) {
    const uchar *key;
    size_t key_length;
    if (expect(parser, '{') != 0) return FAIL;
    if (read_plain_string(parser, &key, &key_length) != 0) return FAIL;
    if (key_length != 4 || memcmp(key, "Item", 4) != 0) return FAIL;
    if (expect(parser, ':') != 0) return FAIL;
    if (expect(parser, '{') != 0) return FAIL;
    int status = write_map(parser);
    if (status != 0) return status;
    if (expect(parser, '}') != 0) return FAIL;
    skip_space(parser);
    if (parser->p != parser->end) return FAIL;
    return put_byte(parser->out, '\n');
}

static int blank(const uchar *p, const uchar *end) {
    /* bytes.isspace(): Python skips such lines */
    for (; p < end; p++) {
        uchar c = *p;
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f') return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------------------- module */

PyDoc_STRVAR(transcode_doc,
             "transcode(chunk: bytes) -> tuple[bytes, int, list[tuple[int, int, int, int]], int]"
             "\n\nThe plain JSON lines of a chunk of whole DynamoDB-JSON lines (split at b'\\n').\n"
             "Returns (lines, items written, handed back, lines in the chunk): each handed-back\n"
             "line is (offset in lines where its output belongs, its index in the chunk, start,\n"
             "stop).");

static PyObject *transcode(PyObject *module, PyObject *argument) {
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(argument, &view, PyBUF_SIMPLE) != 0) return NULL;
    const uchar *data = view.buf;
    size_t size = (size_t)view.len;
    Buffer out = {0};
    Buffer scratch = {0};
    Handback *handbacks = NULL;
    size_t handback_count = 0;
    size_t handback_cap = 0;
    size_t items = 0;
    size_t line_count = 0;
    int failed = 0;

    Py_BEGIN_ALLOW_THREADS
    if (reserve(&out, size + size / 8 + 64) != 0) failed = 1;
    size_t line_index = 0;
    size_t start = 0;
    while (!failed && start <= size) {
        const uchar *newline = memchr(data + start, '\n', size - start);
        size_t stop = newline ? (size_t)(newline - data) : size;
        if (stop > start && !blank(data + start, data + stop)) {
            size_t mark = out.len;
            Parser parser = {data + start, data + stop, &out, &scratch, 0};
            int status = write_line(&parser);
            if (status == NO_MEMORY) {
                failed = 1;
            } else if (status != 0) {
                out.len = mark;
                if (handback_count == handback_cap) {
                    size_t cap = handback_cap ? handback_cap * 2 : 16;
                    Handback *grown = realloc(handbacks, cap * sizeof(Handback));
                    if (grown == NULL) {
                        failed = 1;
                        break;
                    }
                    handbacks = grown;
                    handback_cap = cap;
                }
                handbacks[handback_count++] = (Handback){mark, line_index, start, stop};
            } else {
                items++;
            }
        }
        line_index++;
        if (newline == NULL) break;
        start = stop + 1;
    }
    line_count = line_index;
    Py_END_ALLOW_THREADS

    PyBuffer_Release(&view);
    free(scratch.data);
    PyObject *result = NULL;
    if (failed) {
        PyErr_NoMemory();
        goto cleanup;
    }
    PyObject *lines = PyBytes_FromStringAndSize((const char *)out.data, (Py_ssize_t)out.len);
    if (lines == NULL) goto cleanup;
    PyObject *handed = PyList_New((Py_ssize_t)handback_count);
    if (handed == NULL) {
        Py_DECREF(lines);
        goto cleanup;
    }
    for (size_t i = 0; i < handback_count; i++) {
        PyObject *entry = Py_BuildValue("(nnnn)", (Py_ssize_t)handbacks[i].out_offset,
                                        (Py_ssize_t)handbacks[i].line_index,
                                        (Py_ssize_t)handbacks[i].start,
                                        (Py_ssize_t)handbacks[i].stop);
        if (entry == NULL) {
            Py_DECREF(lines);
            Py_DECREF(handed);
            goto cleanup;
        }
        PyList_SET_ITEM(handed, (Py_ssize_t)i, entry);
    }
    result = Py_BuildValue("(NnNn)", lines, (Py_ssize_t)items, handed, (Py_ssize_t)line_count);
cleanup:
    free(out.data);
    free(handbacks);
    return result;
}

/* ==================================================================== Parquet: shared pieces */

/*
 * Parquet output takes two functions here. survey() reads a chunk of lines for what the
 * Python writer's first pass learns (per top-level attribute: the DynamoDB types seen, in the
 * order of first sight, and what its numbers need), handing back the lines it cannot read
 * exactly. columns() converts a chunk to Arrow buffers for a column plan, or gives up on the
 * whole chunk (None) so that Python converts it: both exact, or Python's.
 */

enum { K_S, K_N, K_B, K_BOOL, K_M, K_L, K_SS, K_NS, K_BS, K_COUNT, K_NULL, K_NONE = -1 };

static int tag_kind(const uchar *tag, size_t length) {
    if (length == 1) {
        switch (tag[0]) {
            case 'S': return K_S;
            case 'N': return K_N;
            case 'B': return K_B;
            case 'M': return K_M;
            case 'L': return K_L;
        }
        return K_NONE;
    }
    if (length == 2 && tag[1] == 'S') {
        switch (tag[0]) {
            case 'S': return K_SS;
            case 'N': return K_NS;
            case 'B': return K_BS;
        }
        return K_NONE;
    }
    if (length == 4 && memcmp(tag, "BOOL", 4) == 0) return K_BOOL;
    if (length == 4 && memcmp(tag, "NULL", 4) == 0) return K_NULL;
    return K_NONE;
}

/* The start of a typed value up to its payload: {"<tag>": */
static int read_tag(Parser *parser, int *kind) {
    const uchar *tag;
    size_t length;
    if (expect(parser, '{') != 0) return FAIL;
    if (read_plain_string(parser, &tag, &length) != 0) return FAIL;
    if (expect(parser, ':') != 0) return FAIL;
    skip_space(parser);
    *kind = tag_kind(tag, length);
    return *kind == K_NONE ? FAIL : 0;
}

static int read_flag(Parser *parser, int *flag) {
    if (literal(parser, "true") == 0) {
        *flag = 1;
        return 0;
    }
    if (literal(parser, "false") == 0) {
        *flag = 0;
        return 0;
    }
    return FAIL;
}

/* After an element of a JSON array: 1 = another follows, 0 = the array ended, FAIL. */
static int next_element(Parser *parser) {
    skip_space(parser);
    if (parser->p >= parser->end) return FAIL;
    if (*parser->p == ',') {
        parser->p++;
        return 1;
    }
    if (*parser->p != ']') return FAIL;
    parser->p++;
    return 0;
}

/* Opens an array: 1 = it has elements, 0 = it is empty, FAIL. */
static int open_array(Parser *parser) {
    if (expect(parser, '[') != 0) return FAIL;
    skip_space(parser);
    if (parser->p < parser->end && *parser->p == ']') {
        parser->p++;
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------- numbers, as Decimal */

/*
 * A number's text in the plain form -?digits[.digits] (anything else — exponents, '+', '.5',
 * underscores, spaces — is left to Python's Decimal). Gives the digits of its coefficient
 * (leading zeros dropped, trailing fractional zeros kept) for the callers to read.
 */
typedef struct {
    int negative;
    const uchar *integer;
    size_t integer_length;
    const uchar *fraction;
    size_t fraction_length;
} PlainNumber;

#define MAX_NUMBER_TEXT 120

static int parse_plain_number(const uchar *text, size_t length, PlainNumber *number) {
    size_t i = 0;
    if (length == 0 || length > MAX_NUMBER_TEXT) return FAIL;
    number->negative = text[0] == '-';
    i = (size_t)number->negative;
    number->integer = text + i;
    while (i < length && text[i] >= '0' && text[i] <= '9') i++;
    number->integer_length = (size_t)(text + i - number->integer);
    if (number->integer_length == 0) return FAIL;
    number->fraction = text + i;
    number->fraction_length = 0;
    if (i < length && text[i] == '.') {
        i++;
        number->fraction = text + i;
        while (i < length && text[i] >= '0' && text[i] <= '9') i++;
        number->fraction_length = (size_t)(text + i - number->fraction);
        if (number->fraction_length == 0) return FAIL;
    }
    return i == length ? 0 : FAIL;
}

static uchar digit_at(const PlainNumber *number, size_t index) {
    return index < number->integer_length ? number->integer[index]
                                          : number->fraction[index - number->integer_length];
}

/* What _Numbers.add learns from one number. */
typedef struct {
    int integers; /* an integer that fits int64 */
    long scale;
    long whole;
} NumberStats;

static const unsigned __int128 INT64_LIMIT = (unsigned __int128)1 << 63; /* |INT64_MIN| */

static int number_stats(const uchar *text, size_t length, NumberStats *stats) {
    PlainNumber number;
    if (parse_plain_number(text, length, &number) != 0) return FAIL;
    size_t total = number.integer_length + number.fraction_length;
    size_t first = 0;
    while (first < total && digit_at(&number, first) == '0') first++;
    long exponent = -(long)number.fraction_length;
    size_t digits;
    if (first == total) {
        digits = 1; /* Decimal zero: one digit, and a negative exponent becomes 0 */
        exponent = 0;
    } else {
        digits = total - first;
        while (exponent < 0 && digits > 1 && digit_at(&number, first + digits - 1) == '0') {
            digits--;
            exponent++;
        }
    }
    stats->scale = exponent < 0 ? -exponent : 0;
    stats->whole = (long)digits + exponent > 0 ? (long)digits + exponent : 0;
    stats->integers = stats->scale == 0;
    if (stats->integers && stats->whole > 18) {
        /* exponent is 0 here: the coefficient is the integer */
        if (stats->whole > 19) {
            stats->integers = 0;
        } else {
            unsigned __int128 value = 0;
            for (size_t i = first; i < first + digits; i++) {
                value = value * 10 + (unsigned)(digit_at(&number, i) - '0');
            }
            stats->integers = number.negative ? value <= INT64_LIMIT : value < INT64_LIMIT;
        }
    }
    return 0;
}

static void merge_stats(NumberStats *into, const NumberStats *from) {
    into->integers = into->integers && from->integers;
    if (from->scale > into->scale) into->scale = from->scale;
    if (from->whole > into->whole) into->whole = from->whole;
}

/*
 * The number as the unscaled integer of a decimal with `scale` digits after the point (int64
 * columns: scale 0). Fails when digits after `scale` are not all zeros or it needs more than
 * 38 digits: the survey rules both out, so failing only means Python should look.
 */
static int scaled_number(const uchar *text, size_t length, long scale, __int128 *value) {
    PlainNumber number;
    if (parse_plain_number(text, length, &number) != 0) return FAIL;
    for (size_t i = (size_t)scale; i < number.fraction_length; i++) {
        if (number.fraction[i] != '0') return FAIL;
    }
    unsigned __int128 result = 0;
    int digits = 0;
    for (size_t i = 0; i < number.integer_length + (size_t)scale; i++) {
        uchar c = i < number.integer_length ? number.integer[i]
                  : i - number.integer_length < number.fraction_length
                      ? number.fraction[i - number.integer_length]
                      : '0';
        if (digits == 0 && c == '0') continue;
        if (++digits > 38) return FAIL;
        result = result * 10 + (unsigned)(c - '0');
    }
    *value = number.negative ? -(__int128)result : (__int128)result;
    return 0;
}

static int to_int64(const uchar *text, size_t length, int64_t *value) {
    __int128 wide;
    if (scaled_number(text, length, 0, &wide) != 0) return FAIL;
    if (wide < -(__int128)INT64_LIMIT || wide >= (__int128)INT64_LIMIT) return FAIL;
    *value = (int64_t)wide;
    return 0;
}

/* ------------------------------------------------------------------------------- names */

/* Attribute names (decoded text) to their index: open addressing over a power of two. */
typedef struct {
    Buffer text;     /* the names, one after another */
    Span *names;     /* by index */
    uchar *plain;    /* by index: no quote, backslash or control character (see find_name) */
    size_t count;
    size_t capacity; /* of names */
    long *slots;     /* index + 1, 0 = empty */
    size_t slot_count;
} NameMap;

static uint64_t name_hash(const uchar *text, size_t length) {
    uint64_t hash = 1469598103934665603ULL;
    for (size_t i = 0; i < length; i++) hash = (hash ^ text[i]) * 1099511628211ULL;
    return hash;
}

static void names_free(NameMap *map) {
    free(map->text.data);
    free(map->names);
    free(map->plain);
    free(map->slots);
}

static long names_find(const NameMap *map, const uchar *text, size_t length) {
    if (map->slot_count == 0) return -1;
    size_t mask = map->slot_count - 1;
    for (size_t slot = name_hash(text, length) & mask;; slot = (slot + 1) & mask) {
        long entry = map->slots[slot];
        if (entry == 0) return -1;
        const Span *name = &map->names[entry - 1];
        if (name->length == length && memcmp(map->text.data + name->start, text, length) == 0) {
            return entry - 1;
        }
    }
}

static int names_grow_slots(NameMap *map) {
    size_t count = map->slot_count ? map->slot_count * 2 : 64;
    long *slots = calloc(count, sizeof(long));
    if (slots == NULL) return NO_MEMORY;
    for (size_t i = 0; i < map->count; i++) {
        const Span *name = &map->names[i];
        size_t slot = name_hash(map->text.data + name->start, name->length) & (count - 1);
        while (slots[slot] != 0) slot = (slot + 1) & (count - 1);
        slots[slot] = (long)i + 1;
    }
    free(map->slots);
    map->slots = slots;
    map->slot_count = count;
    return 0;
}

/* Adds a name not in the map; returns its index or NO_MEMORY. */
static long names_add(NameMap *map, const uchar *text, size_t length) {
    if ((map->count + 1) * 2 > map->slot_count && names_grow_slots(map) != 0) return NO_MEMORY;
    if (map->count == map->capacity) {
        size_t capacity = map->capacity ? map->capacity * 2 : 32;
        Span *names = realloc(map->names, capacity * sizeof(Span));
        if (names == NULL) return NO_MEMORY;
        map->names = names;
        uchar *plain = realloc(map->plain, capacity);
        if (plain == NULL) return NO_MEMORY;
        map->plain = plain;
        map->capacity = capacity;
    }
    Span name = {map->text.len, length};
    if (put(&map->text, text, length) != 0) return NO_MEMORY;
    map->names[map->count] = name;
    map->plain[map->count] = run_end(text, text + length, 0) == text + length;
    for (size_t i = 0; i < length && map->plain[map->count]; i++) {
        if (text[i] < 0x20) map->plain[map->count] = 0;
    }
    size_t mask = map->slot_count - 1;
    size_t slot = name_hash(text, length) & mask;
    while (map->slots[slot] != 0) slot = (slot + 1) & mask;
    map->slots[slot] = (long)map->count + 1;
    return (long)map->count++;
}

/* Reads an attribute name (a JSON string) into `scratch`, decoded. */
static int read_name(Parser *parser, Buffer *scratch) {
    scratch->len = 0;
    skip_space(parser);
    return read_string(parser, scratch, NULL);
}

/*
 * Reads an attribute name and finds it: first as `guess` (attributes come in the same order on
 * most lines), comparing the line's bytes with the name's when the name needs no escapes,
 * else decoded (into scratch) and looked up. *index is -1 for a name not in the map.
 */
static int find_name(Parser *parser, const NameMap *names, long guess, Buffer *scratch,
                     long *index) {
    skip_space(parser);
    if (guess >= 0 && names->plain[guess]) {
        const Span *name = &names->names[guess];
        const uchar *text = parser->p + 1;
        if (parser->p < parser->end && *parser->p == '"' &&
            (size_t)(parser->end - text) > name->length && text[name->length] == '"' &&
            memcmp(text, names->text.data + name->start, name->length) == 0) {
            parser->p = text + name->length + 1;
            *index = guess;
            return 0;
        }
    }
    int status = read_name(parser, scratch);
    if (status != 0) return status;
    *index = names_find(names, scratch->data, scratch->len);
    return 0;
}

/* The start of an item's line up to its first attribute: 1 = it has attributes, 0 = none. */
static int open_item(Parser *parser) {
    const uchar *key;
    size_t key_length;
    if (expect(parser, '{') != 0) return FAIL;
    if (read_plain_string(parser, &key, &key_length) != 0) return FAIL;
    if (key_length != 4 || memcmp(key, "Item", 4) != 0) return FAIL;
    if (expect(parser, ':') != 0) return FAIL;
    if (expect(parser, '{') != 0) return FAIL;
    skip_space(parser);
    if (parser->p < parser->end && *parser->p == '}') {
        parser->p++;
        return 0;
    }
    return 1;
}

/* After an attribute: 1 = another follows, 0 = the item (and its line) ended, FAIL. */
static int next_attribute(Parser *parser) {
    skip_space(parser);
    if (parser->p >= parser->end) return FAIL;
    if (*parser->p == ',') {
        parser->p++;
        return 1;
    }
    if (*parser->p != '}') return FAIL;
    parser->p++;
    return 0;
}

static int close_item(Parser *parser) {
    if (expect(parser, '}') != 0) return FAIL;
    skip_space(parser);
    return parser->p == parser->end ? 0 : FAIL;
}

/* ==================================================================== Parquet: survey */

typedef struct {
    long first_line;         /* the first surveyed line naming it; -1 before */
    long kind_line[K_COUNT]; /* the first surveyed line of each type; -1 = not seen */
    NumberStats numbers;
    long stamp;              /* the last line naming it: a name twice in a line is Python's */
    long next;               /* the column named after it last time, a guess; -1 = none */
} SurveyColumn;

/* One attribute of the line being surveyed, kept until the whole line is known to be exact. */
typedef struct {
    long column;
    int kind;
    int has_numbers;
    NumberStats numbers;
} SurveyValue;

typedef struct {
    NameMap names;
    SurveyColumn *columns;
    size_t capacity;
    Buffer values; /* SurveyValue of the current line */
    Buffer scratch;
    long first;    /* the first column of the last line, a guess */
} Survey;

static void survey_free(Survey *survey) {
    names_free(&survey->names);
    free(survey->columns);
    free(survey->values.data);
    free(survey->scratch.data);
}

static long survey_column(Survey *survey, const uchar *name, size_t length) {
    long index = names_add(&survey->names, name, length);
    if (index < 0) return index;
    if ((size_t)index >= survey->capacity) {
        size_t capacity = survey->capacity ? survey->capacity * 2 : 32;
        SurveyColumn *grown = realloc(survey->columns, capacity * sizeof(SurveyColumn));
        if (grown == NULL) return NO_MEMORY;
        survey->columns = grown;
        survey->capacity = capacity;
    }
    SurveyColumn *column = &survey->columns[index];
    column->first_line = -1;
    for (int k = 0; k < K_COUNT; k++) column->kind_line[k] = -1;
    column->numbers = (NumberStats){1, 0, 0};
    column->stamp = -1;
    column->next = -1;
    return index;
}

/*
 * Skips a JSON string (parser at its quote) without checking its text: the survey only needs
 * to know where it ends. The second pass reads every value in full (C or Python), so a line
 * that is not JSON still fails there, at its line.
 */
static int skip_string(Parser *parser) {
    const uchar *p = parser->p + 1;
    const uchar *end = parser->end;
    for (;;) {
        p = run_end(p, end, 0);
        if (p >= end) return FAIL;
        if (*p == '"') break;
        p += 2; /* an escape: the escaped byte is never the end */
    }
    parser->p = p + 1;
    return 0;
}

/* Skips a JSON object or array (parser at its bracket) by its brackets and strings. */
static int skip_nested(Parser *parser) {
    long depth = 0;
    while (parser->p < parser->end) {
        uchar c = *parser->p;
        if (c == '"') {
            if (skip_string(parser) != 0) return FAIL;
            continue;
        }
        parser->p++;
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0) return 0;
            if (depth < 0) return FAIL;
        }
    }
    return FAIL;
}

/* Reads one value's payload (after its tag) for what the survey needs: types and numbers. */
static int survey_payload(Parser *parser, int kind, SurveyValue *value) {
    const uchar *text;
    size_t length;
    int flag;
    int more;
    NumberStats stats;
    switch (kind) {
        case K_S:
            if (parser->p >= parser->end || *parser->p != '"') return FAIL;
            return skip_string(parser);
        case K_N:
            if (read_plain_string(parser, &text, &length) != 0) return FAIL;
            if (number_stats(text, length, &value->numbers) != 0) return FAIL;
            value->has_numbers = 1;
            return 0;
        case K_B:
            return read_plain_string(parser, &text, &length); /* decoded only in pass 2 */
        case K_BOOL:
        case K_NULL:
            return read_flag(parser, &flag);
        case K_M:
            if (parser->p >= parser->end || *parser->p != '{') return FAIL;
            return skip_nested(parser);
        case K_L:
        case K_SS:
        case K_BS:
            if (parser->p >= parser->end || *parser->p != '[') return FAIL;
            return skip_nested(parser);
        case K_NS:
            value->numbers = (NumberStats){1, 0, 0};
            value->has_numbers = 1;
            if ((more = open_array(parser)) < 0) return FAIL;
            while (more > 0) {
                if (read_plain_string(parser, &text, &length) != 0) return FAIL;
                if (number_stats(text, length, &stats) != 0) return FAIL;
                merge_stats(&value->numbers, &stats);
                if ((more = next_element(parser)) < 0) return FAIL;
            }
            return 0;
    }
    return FAIL;
}

static int survey_line(Survey *survey, Parser *parser, long line) {
    survey->values.len = 0;
    int more = open_item(parser);
    if (more < 0) return FAIL;
    long guess = survey->first;
    long previous = -1;
    while (more > 0) {
        int status;
        long index;
        if ((status = find_name(parser, &survey->names, guess, &survey->scratch, &index)) != 0)
            return status;
        if (index < 0) {
            index = survey_column(survey, survey->scratch.data, survey->scratch.len);
            if (index < 0) return (int)index;
        }
        if (previous < 0) {
            survey->first = index;
        } else {
            survey->columns[previous].next = index;
        }
        previous = index;
        guess = survey->columns[index].next;
        if (survey->columns[index].stamp == line) return FAIL; /* a repeated name */
        survey->columns[index].stamp = line;
        if (expect(parser, ':') != 0) return FAIL;
        SurveyValue value = {index, K_NONE, 0, {1, 0, 0}};
        if (read_tag(parser, &value.kind) != 0) return FAIL;
        if ((status = survey_payload(parser, value.kind, &value)) != 0) return status;
        if (expect(parser, '}') != 0) return FAIL;
        if (put(&survey->values, &value, sizeof value) != 0) return NO_MEMORY;
        if ((more = next_attribute(parser)) < 0) return FAIL;
    }
    if (close_item(parser) != 0) return FAIL;
    /* The line is exact: what it says counts. */
    const SurveyValue *values = (const SurveyValue *)survey->values.data;
    size_t count = survey->values.len / sizeof(SurveyValue);
    for (size_t i = 0; i < count; i++) {
        SurveyColumn *column = &survey->columns[values[i].column];
        if (column->first_line < 0) column->first_line = line;
        if (values[i].kind == K_NULL) continue;
        if (column->kind_line[values[i].kind] < 0) column->kind_line[values[i].kind] = line;
        if (values[i].has_numbers) merge_stats(&column->numbers, &values[i].numbers);
    }
    return 0;
}

static int add_handback(Buffer *handbacks, size_t line, size_t start, size_t stop, size_t items) {
    Handback handback = {items, line, start, stop}; /* out_offset holds the items before it */
    return put(handbacks, &handback, sizeof handback);
}

PyDoc_STRVAR(survey_doc,
             "survey(chunk: bytes) -> tuple[int, list[tuple], list[tuple[int, int, int, int]]]\n\n"
             "What a chunk of whole DynamoDB-JSON lines holds per top-level attribute, as the\n"
             "Parquet writer's first pass learns it. Returns (items, columns, handed back):\n"
             "each column is (name as UTF-8, first line, first line of each type in the order\n"
             "S N B BOOL M L SS NS BS or -1, integers, scale, whole digits); each line handed\n"
             "back is (its index in the chunk, start, stop, items before it in the chunk).");

static PyObject *survey(PyObject *module, PyObject *argument) {
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(argument, &view, PyBUF_SIMPLE) != 0) return NULL;
    const uchar *data = view.buf;
    size_t size = (size_t)view.len;
    Survey state = {0};
    state.first = -1;
    Buffer handbacks = {0};
    size_t items = 0;
    int failed = 0;

    Py_BEGIN_ALLOW_THREADS
    size_t line = 0;
    size_t start = 0;
    while (!failed && start <= size) {
        const uchar *newline = memchr(data + start, '\n', size - start);
        size_t stop = newline ? (size_t)(newline - data) : size;
        if (stop > start && !blank(data + start, data + stop)) {
            Parser parser = {data + start, data + stop, NULL, NULL, 0};
            int status = survey_line(&state, &parser, (long)line);
            if (status == NO_MEMORY) {
                failed = 1;
            } else if (status != 0 && add_handback(&handbacks, line, start, stop, items) != 0) {
                failed = 1;
            }
            items++;
        }
        line++;
        if (newline == NULL) break;
        start = stop + 1;
    }
    Py_END_ALLOW_THREADS

    PyBuffer_Release(&view);
    PyObject *result = NULL;
    PyObject *columns = NULL;
    PyObject *handed = NULL;
    if (failed) {
        PyErr_NoMemory();
        goto cleanup;
    }
    columns = PyList_New(0);
    if (columns == NULL) goto cleanup;
    for (size_t i = 0; i < state.names.count; i++) {
        const SurveyColumn *column = &state.columns[i];
        if (column->first_line < 0) continue; /* named only by lines handed back */
        const Span *name = &state.names.names[i];
        const long *k = column->kind_line;
        PyObject *entry = Py_BuildValue(
            "(y#l(lllllllll)Oll)", (const char *)state.names.text.data + name->start,
            (Py_ssize_t)name->length, column->first_line, k[0], k[1], k[2], k[3], k[4], k[5],
            k[6], k[7], k[8], column->numbers.integers ? Py_True : Py_False,
            column->numbers.scale, column->numbers.whole);
        if (entry == NULL || PyList_Append(columns, entry) != 0) {
            Py_XDECREF(entry);
            goto cleanup;
        }
        Py_DECREF(entry);
    }
    size_t handback_count = handbacks.len / sizeof(Handback);
    handed = PyList_New((Py_ssize_t)handback_count);
    if (handed == NULL) goto cleanup;
    for (size_t i = 0; i < handback_count; i++) {
        const Handback *back = (const Handback *)handbacks.data + i;
        PyObject *entry = Py_BuildValue("(nnnn)", (Py_ssize_t)back->line_index,
                                        (Py_ssize_t)back->start, (Py_ssize_t)back->stop,
                                        (Py_ssize_t)back->out_offset);
        if (entry == NULL) goto cleanup;
        PyList_SET_ITEM(handed, (Py_ssize_t)i, entry);
    }
    result = Py_BuildValue("(nOO)", (Py_ssize_t)items, columns, handed);
cleanup:
    Py_XDECREF(columns);
    Py_XDECREF(handed);
    survey_free(&state);
    free(handbacks.data);
    return result;
}

/* ==================================================================== Parquet: columns */

/* How a column is built (the plan's codes; see parquet_native.py). */
enum {
    C_NULLS,       /* only NULL seen: every row null */
    C_STRING,      /* S */
    C_INT64,       /* N, integers fitting int64 */
    C_DECIMAL,     /* N, decimal128(38, scale) */
    C_BOOL,        /* BOOL */
    C_BINARY,      /* B */
    C_JSON,        /* several types, M, L: each value's plain JSON */
    C_STRINGS,     /* SS: list<string>, sorted, no repeats */
    C_INT64S,      /* NS: list<int64>, sorted by value, no repeats */
    C_DECIMALS,    /* NS: list<decimal128(38, scale)> */
    C_BINARIES,    /* BS: list<binary>, sorted by bytes, no repeats */
    C_NUMBER_TEXT, /* N kept as text: the export's text, for Python to make canonical */
    C_NUMBER_TEXTS, /* NS kept as text: the export's texts, unsorted, for Python */
    C_CODES
};

static const int CODE_KIND[C_CODES] = {K_NULL, K_S, K_N, K_N, K_BOOL, K_B, K_NONE,
                                       K_SS,   K_NS, K_NS, K_BS,  K_N,  K_NS};

typedef struct {
    int code;
    long scale;
    long stamp;          /* the last row given a value */
    size_t rows;
    size_t nulls;
    Buffer validity;     /* a bit per row */
    Buffer offsets;      /* int32: strings, binary, JSON; lists' element offsets */
    Buffer data;         /* bytes, int64, int128 or bits */
    Buffer child_offsets; /* int32: the strings or binary of lists */
    Buffer child_data;
    size_t children;     /* elements of lists */
    long next;           /* the column named after it last time, a guess; -1 = none */
} Builder;

static void builder_free(Builder *builder) {
    free(builder->validity.data);
    free(builder->offsets.data);
    free(builder->data.data);
    free(builder->child_offsets.data);
    free(builder->child_data.data);
}

static int put_bit(Buffer *bits, size_t index, int set) {
    if (index % 8 == 0 && put_byte(bits, 0) != 0) return NO_MEMORY;
    if (set) bits->data[index / 8] |= (uchar)(1u << (index % 8));
    return 0;
}

static int put_offset(Buffer *offsets, size_t value) {
    if (value > INT32_MAX) return FAIL;
    int32_t offset = (int32_t)value;
    return put(offsets, &offset, sizeof offset);
}

static int is_list(int code) {
    return code == C_STRINGS || code == C_INT64S || code == C_DECIMALS || code == C_BINARIES ||
           code == C_NUMBER_TEXTS;
}

static int has_offsets(int code) {
    return code == C_STRING || code == C_BINARY || code == C_JSON || code == C_NUMBER_TEXT ||
           is_list(code);
}

/* Ends a row: the value (valid) or a null. */
static int end_row(Builder *builder, int valid) {
    if (put_bit(&builder->validity, builder->rows, valid) != 0) return NO_MEMORY;
    if (!valid) {
        builder->nulls++;
        if (builder->code == C_INT64 && put(&builder->data, "\0\0\0\0\0\0\0\0", 8) != 0)
            return NO_MEMORY;
        if (builder->code == C_DECIMAL && reserve(&builder->data, 16) != 0) return NO_MEMORY;
        if (builder->code == C_DECIMAL) {
            memset(builder->data.data + builder->data.len, 0, 16);
            builder->data.len += 16;
        }
        if (builder->code == C_BOOL && put_bit(&builder->data, builder->rows, 0) != 0)
            return NO_MEMORY;
    }
    builder->rows++;
    if (has_offsets(builder->code)) {
        size_t end = is_list(builder->code) ? builder->children : builder->data.len;
        return put_offset(&builder->offsets, end);
    }
    return 0;
}

static int base64_decode(const uchar *text, size_t length, Buffer *out) {
    if (!canonical_base64(text, length)) return FAIL;
    if (reserve(out, length / 4 * 3) != 0) return NO_MEMORY;
    uchar *target = out->data + out->len;
    size_t written = 0;
    for (size_t i = 0; i < length; i += 4) {
        int a = base64_value(text[i]);
        int b = base64_value(text[i + 1]);
        int c = text[i + 2] == '=' ? 0 : base64_value(text[i + 2]);
        int d = text[i + 3] == '=' ? 0 : base64_value(text[i + 3]);
        uint32_t group = ((uint32_t)a << 18) | ((uint32_t)b << 12) | ((uint32_t)c << 6) | (uint32_t)d;
        target[written++] = (uchar)(group >> 16);
        if (text[i + 2] != '=') target[written++] = (uchar)(group >> 8);
        if (text[i + 3] != '=') target[written++] = (uchar)group;
    }
    out->len += written;
    return 0;
}

typedef struct {
    const uchar *bytes;
    size_t length;
} Piece;

static int compare_pieces(const void *left, const void *right) {
    const Piece *a = left;
    const Piece *b = right;
    size_t shorter = a->length < b->length ? a->length : b->length;
    int order = shorter ? memcmp(a->bytes, b->bytes, shorter) : 0;
    if (order != 0) return order;
    return (a->length > b->length) - (a->length < b->length);
}

static int compare_int128(const void *left, const void *right) {
    __int128 a;
    __int128 b;
    memcpy(&a, left, sizeof a);
    memcpy(&b, right, sizeof b);
    return (a > b) - (a < b);
}

/* SS or BS: the members decoded, sorted by bytes, each once, as the list's elements. */
static int build_byte_set(Builder *builder, Parser *parser, Buffer *scratch, Buffer *pieces,
                          int binary) {
    scratch->len = 0;
    pieces->len = 0;
    int more = open_array(parser);
    if (more < 0) return FAIL;
    while (more > 0) {
        Span span = {scratch->len, 0};
        int status;
        skip_space(parser);
        if (binary) {
            const uchar *text;
            size_t length;
            if (read_plain_string(parser, &text, &length) != 0) return FAIL;
            status = base64_decode(text, length, scratch);
        } else {
            status = read_string(parser, scratch, NULL);
        }
        if (status != 0) return status;
        span.length = scratch->len - span.start;
        if (put(pieces, &span, sizeof span) != 0) return NO_MEMORY;
        if ((more = next_element(parser)) < 0) return FAIL;
    }
    /* The scratch buffer no longer moves: spans become pointers, for qsort. */
    size_t count = pieces->len / sizeof(Span);
    Piece *sorted = (Piece *)pieces->data;
    for (size_t i = 0; i < count; i++) {
        Span span = ((Span *)pieces->data)[i];
        sorted[i] = (Piece){scratch->data + span.start, span.length};
    }
    qsort(sorted, count, sizeof(Piece), compare_pieces);
    for (size_t i = 0; i < count; i++) {
        if (i > 0 && compare_pieces(&sorted[i - 1], &sorted[i]) == 0) continue;
        if (put(&builder->child_data, sorted[i].bytes, sorted[i].length) != 0) return NO_MEMORY;
        if (put_offset(&builder->child_offsets, builder->child_data.len) != 0) return FAIL;
        builder->children++;
    }
    return 0;
}

/* NS: the numbers as integers (int64 or unscaled decimals), sorted by value, each once. */
static int build_number_set(Builder *builder, Parser *parser, Buffer *numbers) {
    numbers->len = 0;
    int more = open_array(parser);
    if (more < 0) return FAIL;
    while (more > 0) {
        const uchar *text;
        size_t length;
        __int128 value;
        if (read_plain_string(parser, &text, &length) != 0) return FAIL;
        long scale = builder->code == C_DECIMALS ? builder->scale : 0;
        if (scaled_number(text, length, scale, &value) != 0) return FAIL;
        if (builder->code == C_INT64S &&
            (value < -(__int128)INT64_LIMIT || value >= (__int128)INT64_LIMIT))
            return FAIL;
        if (put(numbers, &value, sizeof value) != 0) return NO_MEMORY;
        if ((more = next_element(parser)) < 0) return FAIL;
    }
    size_t count = numbers->len / sizeof(__int128);
    qsort(numbers->data, count, sizeof(__int128), compare_int128);
    for (size_t i = 0; i < count; i++) {
        __int128 value;
        memcpy(&value, numbers->data + i * sizeof value, sizeof value);
        if (i > 0 && compare_int128(numbers->data + (i - 1) * sizeof value, &value) == 0) continue;
        int status;
        if (builder->code == C_INT64S) {
            int64_t narrow = (int64_t)value;
            status = put(&builder->child_data, &narrow, sizeof narrow);
        } else {
            status = put(&builder->child_data, &value, sizeof value);
        }
        if (status != 0) return NO_MEMORY;
        builder->children++;
    }
    return 0;
}

typedef struct {
    Buffer scratch;
    Buffer pieces;
} Scratch;

/* One attribute's value into its column (parser at the value's '{'). */
static int build_value(Builder *builder, Parser *parser, Scratch *work) {
    const uchar *value_start;
    const uchar *text;
    size_t length;
    int kind;
    int flag;
    int status;
    skip_space(parser);
    value_start = parser->p;
    if (read_tag(parser, &kind) != 0) return FAIL;
    if (kind == K_NULL) {
        if (read_flag(parser, &flag) != 0) return FAIL;
        if (expect(parser, '}') != 0) return FAIL;
        return end_row(builder, 0);
    }
    int code = builder->code;
    if (code == C_JSON) {
        /* The value's plain JSON, as the JSON lines path writes it. */
        parser->p = value_start;
        parser->out = &builder->data;
        parser->scratch = &work->scratch;
        parser->depth = 0;
        if ((status = write_value(parser)) != 0) return status;
        return end_row(builder, 1);
    }
    if (kind != CODE_KIND[code]) return FAIL; /* the survey saw otherwise: Python looks */
    switch (code) {
        case C_STRING:
            status = read_string(parser, &builder->data, NULL);
            break;
        case C_INT64: {
            int64_t value;
            if (read_plain_string(parser, &text, &length) != 0) return FAIL;
            if (to_int64(text, length, &value) != 0) return FAIL;
            status = put(&builder->data, &value, sizeof value);
            break;
        }
        case C_DECIMAL: {
            __int128 value;
            if (read_plain_string(parser, &text, &length) != 0) return FAIL;
            if (scaled_number(text, length, builder->scale, &value) != 0) return FAIL;
            status = put(&builder->data, &value, sizeof value);
            break;
        }
        case C_BOOL:
            if (read_flag(parser, &flag) != 0) return FAIL;
            status = put_bit(&builder->data, builder->rows, flag);
            break;
        case C_BINARY:
            if (read_plain_string(parser, &text, &length) != 0) return FAIL;
            status = base64_decode(text, length, &builder->data);
            break;
        case C_NUMBER_TEXT:
            if (read_plain_string(parser, &text, &length) != 0) return FAIL;
            status = put(&builder->data, text, length);
            break;
        case C_STRINGS:
        case C_BINARIES:
            status = build_byte_set(builder, parser, &work->scratch, &work->pieces,
                                    code == C_BINARIES);
            break;
        case C_INT64S:
        case C_DECIMALS:
            status = build_number_set(builder, parser, &work->scratch);
            break;
        case C_NUMBER_TEXTS: {
            int more = open_array(parser);
            if (more < 0) return FAIL;
            while (more > 0) {
                if (read_plain_string(parser, &text, &length) != 0) return FAIL;
                if (put(&builder->child_data, text, length) != 0) return NO_MEMORY;
                if (put_offset(&builder->child_offsets, builder->child_data.len) != 0)
                    return FAIL;
                builder->children++;
                if ((more = next_element(parser)) < 0) return FAIL;
            }
            status = 0;
            break;
        }
        default:
            return FAIL;
    }
    if (status != 0) return status;
    if (expect(parser, '}') != 0) return FAIL;
    return end_row(builder, 1);
}

static int build_line(Builder *builders, size_t count, const NameMap *names, Parser *parser,
                      Scratch *work, long row, long *first) {
    int more = open_item(parser);
    if (more < 0) return FAIL;
    long guess = *first;
    long previous = -1;
    while (more > 0) {
        int status;
        long index;
        if ((status = find_name(parser, names, guess, &work->scratch, &index)) != 0)
            return status;
        if (index < 0) return FAIL; /* not in the plan: Python's */
        if (previous < 0) {
            *first = index;
        } else {
            builders[previous].next = index;
        }
        previous = index;
        guess = builders[index].next;
        Builder *builder = &builders[index];
        if (builder->stamp == row) return FAIL; /* a repeated name */
        builder->stamp = row;
        if (expect(parser, ':') != 0) return FAIL;
        if ((status = build_value(builder, parser, work)) != 0) return status;
        if ((more = next_attribute(parser)) < 0) return FAIL;
    }
    if (close_item(parser) != 0) return FAIL;
    for (size_t i = 0; i < count; i++) {
        if (builders[i].stamp != row) {
            int status = end_row(&builders[i], 0);
            if (status != 0) return status;
        }
    }
    return 0;
}

/*
 * A built buffer handed to Python without copying it: an object exposing the memory through
 * the buffer protocol (pyarrow.py_buffer wraps it), freeing it when the last view is gone.
 */
typedef struct {
    PyObject_HEAD
    uchar *data;
    Py_ssize_t length;
} OwnedBuffer;

static int owned_getbuffer(PyObject *self, Py_buffer *view, int flags) {
    OwnedBuffer *owned = (OwnedBuffer *)self;
    return PyBuffer_FillInfo(view, self, owned->data, owned->length, 1, flags);
}

static void owned_dealloc(PyObject *self) {
    free(((OwnedBuffer *)self)->data);
    Py_TYPE(self)->tp_free(self);
}

static PyBufferProcs owned_buffer_procs = {owned_getbuffer, NULL};

static PyTypeObject OwnedBufferType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ddbexport.data.convert._dynamojson.OwnedBuffer",
    .tp_basicsize = sizeof(OwnedBuffer),
    .tp_dealloc = owned_dealloc,
    .tp_as_buffer = &owned_buffer_procs,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Memory built by columns(), read through the buffer protocol.",
};

/* The buffer's memory as an OwnedBuffer; the Buffer gives it up (even on failure). */
static PyObject *buffer_object(Buffer *buffer) {
    if (buffer->data == NULL && reserve(buffer, 1) != 0) return PyErr_NoMemory();
    OwnedBuffer *owned = PyObject_New(OwnedBuffer, &OwnedBufferType);
    if (owned == NULL) {
        free(buffer->data);
        *buffer = (Buffer){0};
        return NULL;
    }
    owned->data = buffer->data;
    owned->length = (Py_ssize_t)buffer->len;
    *buffer = (Buffer){0};
    return (PyObject *)owned;
}

PyDoc_STRVAR(columns_doc,
             "columns(chunk: bytes, plan: list[tuple[bytes, int, int]]) -> tuple | None\n\n"
             "A chunk of whole DynamoDB-JSON lines as Arrow buffers, one column per plan entry\n"
             "(name as UTF-8, code, scale). Returns (rows, per column (nulls, validity,\n"
             "offsets, data, child offsets, child data, children)), or None when a line is not\n"
             "one this converts exactly (Python converts the chunk).");

static PyObject *columns(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *chunk;
    PyObject *plan;
    if (!PyArg_ParseTuple(args, "OO!", &chunk, &PyList_Type, &plan)) return NULL;
    size_t count = (size_t)PyList_GET_SIZE(plan);
    NameMap names = {0};
    Builder *builders = calloc(count ? count : 1, sizeof(Builder));
    Scratch work = {0};
    PyObject *result = NULL;
    Py_buffer view;
    int have_view = 0;
    if (builders == NULL) {
        PyErr_NoMemory();
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++) {
        const char *name;
        Py_ssize_t length;
        int code;
        long scale;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(plan, (Py_ssize_t)i), "y#il", &name, &length, &code,
                              &scale))
            goto cleanup;
        if (code < 0 || code >= C_CODES) {
            PyErr_SetString(PyExc_ValueError, "unknown column code");
            goto cleanup;
        }
        if (names_find(&names, (const uchar *)name, (size_t)length) >= 0) {
            PyErr_SetString(PyExc_ValueError, "a column is named twice");
            goto cleanup;
        }
        if (names_add(&names, (const uchar *)name, (size_t)length) < 0) {
            PyErr_NoMemory();
            goto cleanup;
        }
        builders[i].code = code;
        builders[i].scale = scale;
        builders[i].stamp = -1;
        builders[i].next = -1;
        if ((has_offsets(code) && put_offset(&builders[i].offsets, 0) != 0) ||
            ((code == C_STRINGS || code == C_BINARIES || code == C_NUMBER_TEXTS) &&
             put_offset(&builders[i].child_offsets, 0) != 0)) {
            PyErr_NoMemory();
            goto cleanup;
        }
    }
    if (PyObject_GetBuffer(chunk, &view, PyBUF_SIMPLE) != 0) goto cleanup;
    have_view = 1;
    const uchar *data = view.buf;
    size_t size = (size_t)view.len;
    int status = 0;
    long rows = 0;
    long first = -1;

    Py_BEGIN_ALLOW_THREADS
    size_t start = 0;
    while (status == 0 && start <= size) {
        const uchar *newline = memchr(data + start, '\n', size - start);
        size_t stop = newline ? (size_t)(newline - data) : size;
        if (stop > start && !blank(data + start, data + stop)) {
            Parser parser = {data + start, data + stop, NULL, NULL, 0};
            status = build_line(builders, count, &names, &parser, &work, rows, &first);
            rows++;
        }
        if (newline == NULL) break;
        start = stop + 1;
    }
    Py_END_ALLOW_THREADS

    if (status == NO_MEMORY) {
        PyErr_NoMemory();
        goto cleanup;
    }
    if (status != 0) {
        result = Py_NewRef(Py_None);
        goto cleanup;
    }
    PyObject *built = PyList_New((Py_ssize_t)count);
    if (built == NULL) goto cleanup;
    for (size_t i = 0; i < count; i++) {
        Builder *b = &builders[i];
        PyObject *entry = Py_BuildValue("(nNNNNNn)", (Py_ssize_t)b->nulls,
                                        buffer_object(&b->validity), buffer_object(&b->offsets),
                                        buffer_object(&b->data), buffer_object(&b->child_offsets),
                                        buffer_object(&b->child_data), (Py_ssize_t)b->children);
        if (entry == NULL) {
            Py_DECREF(built);
            goto cleanup;
        }
        PyList_SET_ITEM(built, (Py_ssize_t)i, entry);
    }
    result = Py_BuildValue("(lN)", rows, built);
cleanup:
    if (have_view) PyBuffer_Release(&view);
    for (size_t i = 0; builders != NULL && i < count; i++) builder_free(&builders[i]);
    free(builders);
    names_free(&names);
    free(work.scratch.data);
    free(work.pieces.data);
    return result;
}

PyDoc_STRVAR(count_lines_doc,
             "count_lines(chunk: bytes) -> int\n\n"
             "The number of newlines in the chunk (without the GIL).");

static PyObject *count_lines(PyObject *module, PyObject *argument) {
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(argument, &view, PyBUF_SIMPLE) != 0) return NULL;
    Py_ssize_t count = 0;
    Py_BEGIN_ALLOW_THREADS
    const uchar *p = view.buf;
    const uchar *end = p + view.len;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        count++;
        p++;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(count);
}

static PyMethodDef methods[] = {
    {"transcode", transcode, METH_O, transcode_doc},
    {"survey", survey, METH_O, survey_doc},
    {"columns", columns, METH_VARARGS, columns_doc},
    {"count_lines", count_lines, METH_O, count_lines_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT,
    "_dynamojson",
    "DynamoDB JSON lines to plain JSON lines in C (see transcode).",
    -1,
    methods,
};

PyMODINIT_FUNC PyInit__dynamojson(void) {
    init_escapes();
    if (PyType_Ready(&OwnedBufferType) != 0) return NULL;
    return PyModule_Create(&module_definition);
}
