/* A chunk's lines, read one after another by transcode(), survey() and columns(), and the lines
   handed back to Python.
   Included once, in order, by _dynamojson.c (one translation unit: every function stays
   static and the small ones inline). */

static int blank(const uchar *p, const uchar *end) {
    /* bytes.isspace(): Python skips such lines */
    for (; p < end; p++) {
        uchar c = *p;
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f') return 0;
    }
    return 1;
}

/* A chunk of whole lines split at '\n', and the line reached (see next_line). */
typedef struct {
    const uchar *data;
    size_t size;
    size_t next;  /* where the line after it starts; past size after the last line */
    size_t count; /* lines met, blank ones too */
    size_t index; /* the line's index in the chunk */
    size_t start; /* the line, without its newline */
    size_t stop;
} Lines;

/* Moves to the chunk's next line that is not blank (Python skips those): 1, or 0 when no line
   is left. */
static inline int next_line(Lines *lines) {
    while (lines->next <= lines->size) {
        size_t start = lines->next;
        const uchar *newline = memchr(lines->data + start, '\n', lines->size - start);
        size_t stop = newline != NULL ? (size_t)(newline - lines->data) : lines->size;
        lines->next = stop + 1;
        lines->index = lines->count++;
        if (stop > start && !blank(lines->data + start, lines->data + stop)) {
            lines->start = start;
            lines->stop = stop;
            return 1;
        }
    }
    return 0;
}

/*
 * A line handed back to Python: where what Python makes of it belongs (transcode: the offset
 * in the lines written; survey: the items before it in the chunk), its index in the chunk and
 * where it is.
 */
typedef struct {
    size_t place;
    size_t index;
    size_t start;
    size_t stop;
} Handback;

/* Hands back the line `lines` is at (handbacks holds Handback records). */
static int add_handback(Buffer *handbacks, size_t place, const Lines *lines) {
    Handback handback = {place, lines->index, lines->start, lines->stop};
    return put(handbacks, &handback, sizeof handback);
}

/* The lines handed back as a list of (place, index, start, stop), or NULL with an error. */
static PyObject *handed_back_list(const Buffer *handbacks) {
    size_t count = handbacks->len / sizeof(Handback);
    PyObject *list = PyList_New((Py_ssize_t)count);
    if (list == NULL) return NULL;
    for (size_t i = 0; i < count; i++) {
        Handback back;
        memcpy(&back, handbacks->data + i * sizeof back, sizeof back);
        PyObject *entry = Py_BuildValue("(nnnn)", (Py_ssize_t)back.place, (Py_ssize_t)back.index,
                                        (Py_ssize_t)back.start, (Py_ssize_t)back.stop);
        if (entry == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, entry);
    }
    return list;
}
