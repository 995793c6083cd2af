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
        while (p < end && PLAIN[*p]) p++;
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

static PyMethodDef methods[] = {
    {"transcode", transcode, METH_O, transcode_doc},
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
    return PyModule_Create(&module_definition);
}
