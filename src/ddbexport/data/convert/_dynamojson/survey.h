/* Parquet, first: survey() learns each column's types and what its numbers need.
   Included once, in order, by _dynamojson.c (one translation unit: every function stays
   static and the small ones inline). */

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
                if ((more = next_member(parser, ']', NULL)) < 0) return FAIL;
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
        if ((more = next_member(parser, '}', NULL)) < 0) return FAIL;
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

PyDoc_STRVAR(survey_doc,
             "survey(chunk: bytes) -> tuple[int, list[tuple], list[tuple[int, int, int, int]]]\n\n"
             "What a chunk of whole DynamoDB-JSON lines holds per top-level attribute, as the\n"
             "Parquet writer's first pass learns it. Returns (items, columns, handed back):\n"
             "each column is (name as UTF-8, first line, first line of each type in the order\n"
             "S N B BOOL M L SS NS BS or -1, integers, scale, whole digits); each line handed\n"
             "back is (items before it in the chunk, its index in the chunk, start, stop).");

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
    Lines lines = {.data = data, .size = size};
    while (!failed && next_line(&lines)) {
        Parser parser = {data + lines.start, data + lines.stop, NULL, NULL, 0};
        int status = survey_line(&state, &parser, (long)lines.index);
        if (status == NO_MEMORY) {
            failed = 1;
        } else if (status != 0 && add_handback(&handbacks, items, &lines) != 0) {
            failed = 1;
        }
        items++;
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
    handed = handed_back_list(&handbacks);
    if (handed == NULL) goto cleanup;
    result = Py_BuildValue("(nOO)", (Py_ssize_t)items, columns, handed);
cleanup:
    Py_XDECREF(columns);
    Py_XDECREF(handed);
    survey_free(&state);
    free(handbacks.data);
    return result;
}
