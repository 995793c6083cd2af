/* Parquet, shared by the survey and the columns: type tags, numbers as Decimal reads them,
   attribute names.
   Included once, in order, by _dynamojson.c (one translation unit: every function stays
   static and the small ones inline). */

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
    if (open_record(parser) != 0) return FAIL;
    skip_space(parser);
    if (parser->p < parser->end && *parser->p == '}') {
        parser->p++;
        return 0;
    }
    return 1;
}

static int close_item(Parser *parser) {
    if (expect(parser, '}') != 0) return FAIL;
    skip_space(parser);
    return parser->p == parser->end ? 0 : FAIL;
}
