/* An optional compiled hot path for microlab's simulator: sending and delivering a message.
 *
 * microlab runs without it (pure Python, the reference: microlab.services.send_message and
 * microlab.network.Network._arrive). When this module is built, every System makes one Hub
 * (microlab/hotpath.py). The Hub holds the system's stable parts (simulation, network,
 * trace, heap, sequence counter, the services' dict) and reads the per-message state from
 * slots at fixed offsets, where Python would look each attribute up by name. It does what
 * the Python code does, in the same order, with the same random draws, so traces stay
 * byte-identical; the test suite runs against both. Whatever is not the usual case (a fault
 * on the network, a service that is down, a work time, a busy service, an overridden
 * _receive) is handed back to the Python implementation, unchanged. The kernel's heap is
 * pushed and popped here as heapq does it (same algorithm, same layout), comparing two
 * float times directly instead of through Python's tuple comparison.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>

enum { SVC_NAME, SVC_UP, SVC_BUSY, SVC_INCARNATION, SVC_CONTEXT, SVC_MAILBOX, SVC_HANDLERS, N_SVC };
static const char *SVC_NAMES[N_SVC] = {"name", "up", "busy", "incarnation", "_context", "mailbox",
                                       "handlers"};
static const Py_ssize_t NO_SLOTS[N_SVC] = {-1, -1, -1, -1, -1, -1, -1};
static PyObject *SVC_STR[N_SVC];
#define N_OK 32

enum { F_ID, F_KIND, F_TYPE, F_SOURCE, F_DESTINATION, F_TOPIC, F_PAYLOAD, F_CORRELATION,
       F_CAUSATION, F_SENT_AT, N_FIELDS };

typedef struct {
    PyObject_HEAD
    PyObject *system, *sim, *network, *trace, *services, *heap, *seq, *faults, *links;
    PyObject *deliver;          /* the bound method put on the heap for every delivery */
    PyObject *py_send, *py_arrive, *message_type, *exponential, *crash_unwind;
    PyObject *random;           /* the simulation's Random.random, bound */
    Py_ssize_t off[N_FIELDS];   /* byte offsets of Message's slots, in Message.FIELDS order */
    /* Offsets of the slots read on the simulation, trace, network and system (-1: none). */
    Py_ssize_t o_now, o_enabled, o_records, o_latency, o_ids, o_handling;
    /* Offsets of the containers cached above, read again before each use (refresh). */
    Py_ssize_t o_faults, o_links, o_heap, o_seq, o_rng, o_services;
    PyObject *rng;              /* the simulation's Random, whose bound random is cached */
    /* Service's slots, and the descriptors they are on Service itself. */
    Py_ssize_t svc_off[N_SVC];
    PyObject *svc_descr[N_SVC];
    /* Service classes checked to resolve those names to Service's own slots (a subclass
     * that redefined one is read attribute by attribute). Strong references. */
    PyObject *ok_types[N_OK];
} Hub;

static PyObject *S_correlation, *S_id, *S_ids, *S_now, *S_enabled, *S_records, *S_latency,
    *S_rate, *S_sample, *S_plain_receive, *S_workers, *S_receive, *S_work_time, *S_start,
    *S_handling, *S_plain_handle, *S_handle, *S_popleft, *S_handler_failed, *S_type, *S_cancelled;
static PyObject *K_SEND, *K_DELIVER, *K_START, *K_END, *ONE;

#define FIELD(obj, hub, f) (*(PyObject **)((char *)(obj) + (hub)->off[f]))

/* A new reference to obj's attribute ``name``, read from the slot at ``off`` when there is one. */
static inline PyObject *
get(PyObject *obj, Py_ssize_t off, PyObject *name)
{
    if (off >= 0) {
        PyObject *v = *(PyObject **)((char *)obj + off);
        if (v != NULL)
            return Py_NewRef(v);
    }
    return PyObject_GetAttr(obj, name);     /* also raises the AttributeError of an empty slot */
}

static inline int
set(PyObject *obj, Py_ssize_t off, PyObject *name, PyObject *value)
{
    if (off >= 0) {
        PyObject **where = (PyObject **)((char *)obj + off);
        PyObject *old = *where;
        *where = Py_NewRef(value);
        Py_XDECREF(old);
        return 0;
    }
    return PyObject_SetAttr(obj, name, value);
}

/* The slot offsets to use for service ``obj``: Service's own, or none if its class redefines one. */
static const Py_ssize_t *
service_slots(Hub *hub, PyObject *obj)
{
    PyObject *tp = (PyObject *)Py_TYPE(obj);
    int i;
    for (i = 0; i < N_OK && hub->ok_types[i] != NULL; i++)
        if (hub->ok_types[i] == tp)
            return hub->svc_off;
    for (int k = 0; k < N_SVC; k++)
        if (hub->svc_descr[k] == NULL || _PyType_Lookup((PyTypeObject *)tp, SVC_STR[k]) != hub->svc_descr[k])
            return NO_SLOTS;
    if (i < N_OK)
        hub->ok_types[i] = Py_NewRef(tp);
    return hub->svc_off;
}

/* Every object the hub holds a reference to, listed once for traverse and clear. */
#define HUB_OBJECTS(X) \
    X(system) X(sim) X(network) X(trace) X(services) X(heap) X(seq) X(faults) X(links) \
    X(deliver) X(py_send) X(py_arrive) X(message_type) X(exponential) X(crash_unwind) \
    X(random) X(rng)

static int
hub_traverse(Hub *self, visitproc visit, void *arg)
{
#define VISIT(field) Py_VISIT(self->field);
    HUB_OBJECTS(VISIT)
#undef VISIT
    for (int k = 0; k < N_SVC; k++)
        Py_VISIT(self->svc_descr[k]);
    for (int i = 0; i < N_OK; i++)
        Py_VISIT(self->ok_types[i]);
    return 0;
}

static int
hub_clear(Hub *self)
{
#define CLEAR(field) Py_CLEAR(self->field);
    HUB_OBJECTS(CLEAR)
#undef CLEAR
    for (int k = 0; k < N_SVC; k++)
        Py_CLEAR(self->svc_descr[k]);
    for (int i = 0; i < N_OK; i++)
        Py_CLEAR(self->ok_types[i]);
    return 0;
}

static void
hub_dealloc(Hub *self)
{
    PyObject_GC_UnTrack(self);
    hub_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The kernel's heap, kept as heapq keeps it (the same algorithm, so the same layout: the
 * kernel's Python code pushes on it with heapq.heappush too). Entries are
 * (time, seq, fn, arg) tuples; heapq orders them with Python's tuple comparison, which
 * compares the times first. Two float times that differ decide it here, without
 * Python's generic comparison; anything else (equal times, another type, a NaN) is
 * left to Python, so the order is Python's in every case. */
static inline int
entry_lt(PyObject *a, PyObject *b)
{
    if (PyTuple_CheckExact(a) && PyTuple_CheckExact(b) &&
        PyTuple_GET_SIZE(a) > 0 && PyTuple_GET_SIZE(b) > 0) {
        PyObject *x = PyTuple_GET_ITEM(a, 0), *y = PyTuple_GET_ITEM(b, 0);
        if (PyFloat_CheckExact(x) && PyFloat_CheckExact(y)) {
            double dx = PyFloat_AS_DOUBLE(x), dy = PyFloat_AS_DOUBLE(y);
            if (dx < dy)
                return 1;
            if (dx > dy)
                return 0;
        }
    }
    /* Python's comparison may run Python code: hold both entries meanwhile. */
    Py_INCREF(a);
    Py_INCREF(b);
    int lt = PyObject_RichCompareBool(a, b, Py_LT);
    Py_DECREF(a);
    Py_DECREF(b);
    return lt;
}

/* Raised, as heapq does, when a comparison changed the heap under us. */
static int
heap_changed(PyObject *heap, Py_ssize_t size)
{
    if (PyList_GET_SIZE(heap) == size)
        return 0;
    PyErr_SetString(PyExc_RuntimeError, "list changed size during iteration");
    return -1;
}

/* heapq's _siftdown: move heap[pos] up towards startpos while it is less than its parent. */
static int
sift_down(PyObject *heap, Py_ssize_t startpos, Py_ssize_t pos)
{
    Py_ssize_t size = PyList_GET_SIZE(heap);
    while (pos > startpos) {
        Py_ssize_t parentpos = (pos - 1) >> 1;
        PyObject **items = ((PyListObject *)heap)->ob_item;
        int lt = entry_lt(items[pos], items[parentpos]);
        if (lt < 0 || heap_changed(heap, size) < 0)
            return -1;
        if (!lt)
            break;
        items = ((PyListObject *)heap)->ob_item;
        PyObject *parent = items[parentpos];
        items[parentpos] = items[pos];
        items[pos] = parent;
        pos = parentpos;
    }
    return 0;
}

/* heapq's _siftup: move the smaller child up until heap[pos] reaches a leaf, then sift it
 * down into place (fewer comparisons than stopping early, as heapq explains). */
static int
sift_up(PyObject *heap, Py_ssize_t pos)
{
    Py_ssize_t endpos = PyList_GET_SIZE(heap), startpos = pos, limit = endpos >> 1;
    while (pos < limit) {
        Py_ssize_t childpos = 2 * pos + 1;
        if (childpos + 1 < endpos) {
            PyObject **items = ((PyListObject *)heap)->ob_item;
            int lt = entry_lt(items[childpos], items[childpos + 1]);
            if (lt < 0 || heap_changed(heap, endpos) < 0)
                return -1;
            childpos += lt ^ 1;
        }
        PyObject **items = ((PyListObject *)heap)->ob_item;
        PyObject *child = items[childpos];
        items[childpos] = items[pos];
        items[pos] = child;
        pos = childpos;
    }
    return sift_down(heap, startpos, pos);
}

/* heapq.heappush(heap, entry): 0, or -1 with the error set. */
static int
heap_push(PyObject *heap, PyObject *entry)
{
    if (PyList_Append(heap, entry) < 0)
        return -1;
    return sift_down(heap, 0, PyList_GET_SIZE(heap) - 1);
}

/* heapq.heappop(heap) of a non-empty heap: a new reference, or NULL with the error set. */
static PyObject *
heap_pop(PyObject *heap)
{
    Py_ssize_t n = PyList_GET_SIZE(heap);
    /* The last item leaves the list with the list's reference, and the list is one shorter:
       its storage is kept (the heap grows again at the next push), where PyList_SetSlice
       would have gone through a slice assignment and a resize check (1% of a run). */
    PyObject *last = PyList_GET_ITEM(heap, n - 1);
    Py_SET_SIZE(heap, n - 1);
    if (n == 1)
        return last;
    PyObject **items = ((PyListObject *)heap)->ob_item;
    PyObject *top = items[0];       /* the list's reference becomes ours */
    items[0] = last;                /* and ours to last becomes the list's */
    if (sift_up(heap, 0) < 0) {
        Py_DECREF(top);
        return NULL;
    }
    return top;
}

/* Trace.records.append((now, kind, service, msg, None)) when the trace is on: 0, or -1. */
static int
record(Hub *hub, PyObject *now, PyObject *kind, PyObject *service, PyObject *msg)
{
    PyObject *enabled = get(hub->trace, hub->o_enabled, S_enabled);
    if (enabled == NULL)
        return -1;
    int on = enabled == Py_True ? 1 : enabled == Py_False ? 0 : PyObject_IsTrue(enabled);
    Py_DECREF(enabled);
    if (on <= 0)
        return on;
    PyObject *records = get(hub->trace, hub->o_records, S_records);
    if (records == NULL)
        return -1;
    PyObject *row = PyTuple_New(5);
    if (row != NULL) {
        PyTuple_SET_ITEM(row, 0, Py_NewRef(now));
        PyTuple_SET_ITEM(row, 1, Py_NewRef(kind));
        PyTuple_SET_ITEM(row, 2, Py_NewRef(service));
        PyTuple_SET_ITEM(row, 3, Py_NewRef(msg));
        PyTuple_SET_ITEM(row, 4, Py_NewRef(Py_None));
    }
    int rc;
    if (row == NULL)
        rc = -1;
    else if (PyList_Check(records))
        rc = PyList_Append(records, row);       /* list's own append, as Python's would be */
    else {
        PyObject *r = PyObject_CallMethod(records, "append", "O", row);
        rc = r == NULL ? -1 : 0;
        Py_XDECREF(r);
    }
    Py_XDECREF(row);
    Py_DECREF(records);
    return rc;
}

/* Re-read the containers the hub caches (a learner may replace ``network.faults`` with a new
 * list, say): 0 when they are as the fast path needs them, 1 when the Python path must run,
 * -1 on error. */
static int
refresh(Hub *hub)
{
    struct { PyObject *owner; Py_ssize_t off; const char *name; PyObject **cached; } parts[] = {
        {hub->network, hub->o_faults, "faults", &hub->faults},
        {hub->network, hub->o_links, "links", &hub->links},
        {hub->sim, hub->o_heap, "_heap", &hub->heap},
        {hub->sim, hub->o_seq, "_seq", &hub->seq},
        {hub->sim, hub->o_rng, "random", &hub->rng},
        {hub->system, hub->o_services, "services", &hub->services},
    };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        PyObject *now = NULL;
        if (parts[i].off >= 0)
            now = *(PyObject **)((char *)parts[i].owner + parts[i].off);
        if (now != NULL && now == *parts[i].cached)
            continue;
        PyObject *fresh = PyObject_GetAttrString(parts[i].owner, parts[i].name);
        if (fresh == NULL)
            return -1;
        Py_XSETREF(*parts[i].cached, fresh);
        if (parts[i].cached == &hub->rng) {
            PyObject *bound = PyObject_GetAttrString(fresh, "random");
            if (bound == NULL)
                return -1;
            Py_XSETREF(hub->random, bound);
        }
    }
    return !(PyList_CheckExact(hub->faults) && PyDict_CheckExact(hub->links) &&
             PyList_CheckExact(hub->heap) && PyDict_CheckExact(hub->services));
}

/* A message's field, read from its slot (or by name for something that is not a Message). */
static inline PyObject *
msg_field(Hub *hub, PyObject *msg, int f, PyObject *name)
{
    if (Py_TYPE(msg) == (PyTypeObject *)hub->message_type) {
        PyObject *v = FIELD(msg, hub, f);
        if (v != NULL)
            return Py_NewRef(v);
    }
    return PyObject_GetAttr(msg, name);
}

/* The delivery time of a message sent at ``now`` to ``to`` by ``source``: Network.transmit's draw. */
static PyObject *
arrival_time(Hub *hub, PyObject *now, PyObject *source, PyObject *to)
{
    PyObject *dist = NULL, *when = NULL;
    if (PyDict_GET_SIZE(hub->links) != 0) {
        PyObject *key = PyTuple_Pack(2, source, to);
        if (key == NULL)
            return NULL;
        dist = PyDict_GetItemWithError(hub->links, key);
        Py_DECREF(key);
        if (dist != NULL)
            Py_INCREF(dist);
        else if (PyErr_Occurred())
            return NULL;
    }
    if (dist == NULL && (dist = get(hub->network, hub->o_latency, S_latency)) == NULL)
        return NULL;
    if ((PyObject *)Py_TYPE(dist) == hub->exponential) {
        /* Exponential.sample written out, as Network.transmit does: -log(1 - U) / rate. */
        PyObject *rate = PyObject_GetAttr(dist, S_rate);
        double r = rate == NULL ? -1.0 : PyFloat_AsDouble(rate);
        Py_XDECREF(rate);
        if (r == -1.0 && PyErr_Occurred())
            goto done;
        PyObject *draw = PyObject_CallNoArgs(hub->random);
        if (draw == NULL)
            goto done;
        double u = PyFloat_AsDouble(draw);
        Py_DECREF(draw);
        double t = PyFloat_AsDouble(now);
        if ((u == -1.0 || t == -1.0) && PyErr_Occurred())
            goto done;
        when = PyFloat_FromDouble(t + -log(1.0 - u) / r);
    } else if (dist == Py_None) {
        PyObject *zero = PyFloat_FromDouble(0.0);
        if (zero != NULL) {
            when = PyNumber_Add(now, zero);
            Py_DECREF(zero);
        }
    } else {
        /* The simulation's generator, as refresh() last read it. */
        PyObject *delay = PyObject_CallMethodOneArg(dist, S_sample, hub->rng);
        if (delay != NULL) {
            when = PyNumber_Add(now, delay);
            Py_DECREF(delay);
        }
    }
done:
    Py_DECREF(dist);
    return when;
}

/* Hub.send(service, to, type, payload, kind, correlation, topic): send_message's work. */
static PyObject *
hub_send(Hub *hub, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "Hub.send takes 7 arguments");
        return NULL;
    }
    PyObject *service = args[0], *to = args[1], *type = args[2], *payload = args[3],
             *kind = args[4], *correlation = args[5], *topic = args[6];
    const Py_ssize_t *so = service_slots(hub, service);
    int odd = refresh(hub);
    if (odd < 0)
        return NULL;
    /* The unusual cases (down, unknown destination, a fault on the network) go to Python. */
    if (odd || PyList_GET_SIZE(hub->faults) != 0)
        return PyObject_Vectorcall(hub->py_send, args, 7, NULL);
    PyObject *up = get(service, so[SVC_UP], SVC_STR[SVC_UP]);
    if (up == NULL)
        return NULL;
    Py_DECREF(up);
    int known = up == Py_True ? PyDict_Contains(hub->services, to) : 0;
    if (known < 0)
        return NULL;
    if (!known)
        return PyObject_Vectorcall(hub->py_send, args, 7, NULL);

    PyObject *msg = NULL, *causation = NULL, *mid = NULL, *now = NULL, *name = NULL,
             *when = NULL, *seq = NULL, *entry = NULL;
    PyObject *ctx = get(service, so[SVC_CONTEXT], SVC_STR[SVC_CONTEXT]);
    if (ctx == NULL)
        return NULL;
    Py_INCREF(correlation);
    if (ctx == Py_None) {
        causation = Py_NewRef(Py_None);
    } else {
        if ((causation = msg_field(hub, ctx, F_ID, S_id)) == NULL)
            goto done;
        if (correlation == Py_None) {
            Py_DECREF(correlation);
            if ((correlation = msg_field(hub, ctx, F_CORRELATION, S_correlation)) == NULL)
                goto done;
        }
    }
    PyObject *ids = get(hub->system, hub->o_ids, S_ids);
    if (ids == NULL)
        goto done;
    mid = PyNumber_Add(ids, ONE);
    Py_DECREF(ids);
    if (mid == NULL || set(hub->system, hub->o_ids, S_ids, mid) < 0)
        goto done;
    if ((now = get(hub->sim, hub->o_now, S_now)) == NULL ||
        (name = get(service, so[SVC_NAME], SVC_STR[SVC_NAME])) == NULL)
        goto done;
    PyTypeObject *mt = (PyTypeObject *)hub->message_type;
    if ((msg = mt->tp_alloc(mt, 0)) == NULL)
        goto done;
    FIELD(msg, hub, F_ID) = Py_NewRef(mid);
    FIELD(msg, hub, F_KIND) = Py_NewRef(kind);
    FIELD(msg, hub, F_TYPE) = Py_NewRef(type);
    FIELD(msg, hub, F_SOURCE) = Py_NewRef(name);
    FIELD(msg, hub, F_DESTINATION) = Py_NewRef(to);
    FIELD(msg, hub, F_TOPIC) = Py_NewRef(topic);
    FIELD(msg, hub, F_PAYLOAD) = Py_NewRef(payload);
    FIELD(msg, hub, F_CORRELATION) = Py_NewRef(correlation);
    FIELD(msg, hub, F_CAUSATION) = Py_NewRef(causation);
    FIELD(msg, hub, F_SENT_AT) = Py_NewRef(now);

    /* Network.transmit without faults. */
    if (record(hub, now, K_SEND, name, msg) < 0 ||
        (when = arrival_time(hub, now, name, to)) == NULL ||
        (seq = PyIter_Next(hub->seq)) == NULL ||
        (entry = PyTuple_Pack(4, when, seq, hub->deliver, msg)) == NULL)
        goto fail;
    if (heap_push(hub->heap, entry) < 0)
        goto fail;
    goto done;
fail:
    Py_CLEAR(msg);
done:
    Py_DECREF(ctx);
    Py_XDECREF(correlation); Py_XDECREF(causation); Py_XDECREF(mid); Py_XDECREF(now);
    Py_XDECREF(name); Py_XDECREF(when); Py_XDECREF(seq); Py_XDECREF(entry);
    return msg;
}

/* The handler's call, as Service._handle makes it: a new reference, or NULL with the error set. */
static PyObject *
call_handler(Hub *hub, PyObject *dest, const Py_ssize_t *so, PyObject *msg)
{
    PyObject *plain = PyObject_GetAttr(dest, S_plain_handle);
    if (plain == NULL)
        return NULL;
    int is_plain = PyObject_IsTrue(plain);
    Py_DECREF(plain);
    if (is_plain < 0)
        return NULL;
    if (is_plain) {
        PyObject *handlers = get(dest, so[SVC_HANDLERS], SVC_STR[SVC_HANDLERS]);
        if (handlers == NULL)
            return NULL;
        PyObject *mtype = msg_field(hub, msg, F_TYPE, S_type);
        PyObject *handler = NULL;
        if (mtype != NULL) {
            if (PyDict_CheckExact(handlers)) {
                handler = PyDict_GetItemWithError(handlers, mtype);
                Py_XINCREF(handler);
            } else {
                handler = PyObject_CallMethod(handlers, "get", "O", mtype);
                if (handler == Py_None)
                    Py_CLEAR(handler);
            }
            Py_DECREF(mtype);
        }
        Py_DECREF(handlers);
        if (handler != NULL) {
            PyObject *res = PyObject_CallOneArg(handler, msg);
            Py_DECREF(handler);
            return res;
        }
        if (PyErr_Occurred())
            return NULL;
    }
    return PyObject_CallMethodOneArg(dest, S_handle, msg);
}

/* Service._handle for service ``dest`` (Service._start has counted the worker). */
static PyObject *
handle(Hub *hub, PyObject *dest, const Py_ssize_t *so, PyObject *msg, PyObject *dest_name)
{
    PyObject *incarnation = get(dest, so[SVC_INCARNATION], SVC_STR[SVC_INCARNATION]);
    if (incarnation == NULL)
        return NULL;
    PyObject *out = NULL;
    int unwound = 0;
    if (set(dest, so[SVC_CONTEXT], SVC_STR[SVC_CONTEXT], msg) < 0 ||
        set(hub->system, hub->o_handling, S_handling, dest) < 0) {
        Py_DECREF(incarnation);
        return NULL;
    }
    PyObject *res = call_handler(hub, dest, so, msg);
    if (res == NULL) {
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        PyErr_NormalizeException(&et, &ev, &tb);
        if (tb != NULL && ev != NULL)
            PyException_SetTraceback(ev, tb);
        if (PyErr_GivenExceptionMatches(et, hub->crash_unwind)) {
            unwound = 1;                    /* the handler crashed its own service */
            Py_XDECREF(et); Py_XDECREF(ev); Py_XDECREF(tb);
        } else if (PyErr_GivenExceptionMatches(et, PyExc_Exception)) {
            /* A learner's bug must not end the run: System._handler_failed records it. */
            PyObject *failed = PyObject_CallMethodObjArgs(hub->system, S_handler_failed, dest, msg,
                                                          ev, NULL);
            Py_XDECREF(et); Py_XDECREF(ev); Py_XDECREF(tb);
            if (failed == NULL)
                goto finally;
            Py_DECREF(failed);
        } else {
            PyErr_Restore(et, ev, tb);      /* KeyboardInterrupt and the like: propagate */
            goto finally;
        }
    } else {
        Py_DECREF(res);
        PyObject *now = get(hub->sim, hub->o_now, S_now);
        if (now == NULL)
            goto finally;
        int rc = record(hub, now, K_END, dest_name, msg);
        Py_DECREF(now);
        if (rc < 0)
            goto finally;
    }
    out = Py_None;
finally:
    {
        /* Service._handle's finally: it runs whatever happened, and keeps a pending error. */
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        int bad = set(dest, so[SVC_CONTEXT], SVC_STR[SVC_CONTEXT], Py_None) < 0 ||
                  set(hub->system, hub->o_handling, S_handling, Py_None) < 0;
        if (et != NULL) {
            if (bad)
                PyErr_Clear();
            PyErr_Restore(et, ev, tb);
            out = NULL;
        } else if (bad) {
            out = NULL;
        }
    }
    if (out == NULL || unwound) {
        Py_DECREF(incarnation);
        return out == NULL ? NULL : Py_NewRef(Py_None);
    }
    PyObject *now_inc = get(dest, so[SVC_INCARNATION], SVC_STR[SVC_INCARNATION]);
    int same = now_inc == NULL ? -1 : PyObject_RichCompareBool(incarnation, now_inc, Py_EQ);
    Py_DECREF(incarnation);
    Py_XDECREF(now_inc);
    if (same <= 0)
        return same < 0 ? NULL : Py_NewRef(Py_None);    /* crashed meanwhile: nothing to free */
    PyObject *busy = get(dest, so[SVC_BUSY], SVC_STR[SVC_BUSY]);
    if (busy == NULL)
        return NULL;
    PyObject *less = PyNumber_Subtract(busy, ONE);
    Py_DECREF(busy);
    if (less == NULL)
        return NULL;
    int rc = set(dest, so[SVC_BUSY], SVC_STR[SVC_BUSY], less);
    Py_DECREF(less);
    if (rc < 0)
        return NULL;
    PyObject *mailbox = get(dest, so[SVC_MAILBOX], SVC_STR[SVC_MAILBOX]);
    if (mailbox == NULL)
        return NULL;
    int waiting = PyObject_IsTrue(mailbox);
    if (waiting > 0) {
        PyObject *up = get(dest, so[SVC_UP], SVC_STR[SVC_UP]);
        int is_up = up == NULL ? -1 : PyObject_IsTrue(up);
        Py_XDECREF(up);
        if (is_up > 0) {
            /* The next message in the mailbox: Service._start, in Python (the usual case
             * needs no mailbox, and a busy service is not the hot path). */
            PyObject *next = PyObject_CallMethodNoArgs(mailbox, S_popleft);
            PyObject *r = next == NULL ? NULL : PyObject_CallMethodOneArg(dest, S_start, next);
            Py_XDECREF(next);
            if (r == NULL)
                waiting = -1;
            Py_XDECREF(r);
        } else if (is_up < 0) {
            waiting = -1;
        }
    }
    Py_DECREF(mailbox);
    if (waiting < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* Hub.deliver(msg): Network._arrive, with Service._start and _handle, for the usual case. */
static PyObject *
hub_deliver(Hub *hub, PyObject *msg)
{
    if (Py_TYPE(msg) != (PyTypeObject *)hub->message_type || FIELD(msg, hub, F_DESTINATION) == NULL)
        return PyObject_CallOneArg(hub->py_arrive, msg);
    int odd = refresh(hub);
    if (odd)
        return odd < 0 ? NULL : PyObject_CallOneArg(hub->py_arrive, msg);
    PyObject *dest_name = FIELD(msg, hub, F_DESTINATION);
    PyObject *dest = PyDict_GetItemWithError(hub->services, dest_name);    /* borrowed */
    if (dest == NULL)
        return PyObject_CallOneArg(hub->py_arrive, msg);       /* raises as Python does */
    Py_INCREF(dest);
    const Py_ssize_t *so = service_slots(hub, dest);
    PyObject *out = NULL, *up = NULL, *now = NULL, *plain = NULL, *busy = NULL, *workers = NULL,
             *work = NULL, *name = NULL;
    if ((up = get(dest, so[SVC_UP], SVC_STR[SVC_UP])) == NULL)
        goto done;
    if (up != Py_True) {
        out = PyObject_CallOneArg(hub->py_arrive, msg);         /* down: Python drops it */
        goto done;
    }
    if ((now = get(hub->sim, hub->o_now, S_now)) == NULL || record(hub, now, K_DELIVER, dest_name, msg) < 0)
        goto done;
    /* ``dest._plain_receive and dest.busy < dest.workers``, short-circuited as Python does. */
    if ((plain = PyObject_GetAttr(dest, S_plain_receive)) == NULL)
        goto done;
    int free_worker = PyObject_IsTrue(plain);
    if (free_worker > 0) {
        if ((busy = get(dest, so[SVC_BUSY], SVC_STR[SVC_BUSY])) == NULL ||
            (workers = PyObject_GetAttr(dest, S_workers)) == NULL)
            goto done;
        free_worker = PyObject_RichCompareBool(busy, workers, Py_LT);
    }
    if (free_worker < 0)
        goto done;
    if (!free_worker) {
        out = PyObject_CallMethodOneArg(dest, S_receive, msg);
        goto done;
    }
    if ((work = PyObject_GetAttr(dest, S_work_time)) == NULL)
        goto done;
    if (work != Py_None) {
        out = PyObject_CallMethodOneArg(dest, S_start, msg);    /* a work time: Python */
        goto done;
    }
    /* Service._start for an instant service. */
    PyObject *more = PyNumber_Add(busy, ONE);
    if (more == NULL)
        goto done;
    int rc = set(dest, so[SVC_BUSY], SVC_STR[SVC_BUSY], more);
    Py_DECREF(more);
    if (rc < 0 || (name = get(dest, so[SVC_NAME], SVC_STR[SVC_NAME])) == NULL ||
        record(hub, now, K_START, name, msg) < 0)
        goto done;
    out = handle(hub, dest, so, msg, name);
done:
    Py_DECREF(dest);
    Py_XDECREF(up); Py_XDECREF(now); Py_XDECREF(plain); Py_XDECREF(busy); Py_XDECREF(workers);
    Py_XDECREF(work); Py_XDECREF(name);
    return out;
}

static PyMethodDef hub_methods[] = {
    {"send", (PyCFunction)(void (*)(void))hub_send, METH_FASTCALL,
     "send(service, to, type, payload, kind, correlation, topic): what services.send_message does."},
    {"deliver", (PyCFunction)hub_deliver, METH_O,
     "deliver(msg): what Network._arrive does, with Service._start and _handle inline."},
    {NULL, NULL, 0, NULL},
};

/* The byte offset of slot ``name`` on ``type`` (a new object-slot member), or -1. */
static Py_ssize_t
slot_offset(PyObject *type, const char *name, PyObject **descr_out)
{
    PyObject *key = PyUnicode_InternFromString(name);
    if (key == NULL)
        return -2;
    PyObject *descr = _PyType_Lookup((PyTypeObject *)type, key);     /* borrowed */
    Py_DECREF(key);
    if (descr_out != NULL)
        *descr_out = NULL;
    if (descr == NULL || Py_TYPE(descr) != &PyMemberDescr_Type)
        return -1;
    PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
    if (member->type != T_OBJECT_EX || (member->flags & READONLY))
        return -1;
    if (descr_out != NULL)
        *descr_out = Py_NewRef(descr);
    return member->offset;
}

static int
hub_init(Hub *self, PyObject *args, PyObject *kwds)
{
    PyObject *system, *sim, *network, *trace, *py_send, *py_arrive, *message_type,
             *exponential, *crash_unwind, *fields, *service_type;
    if (!PyArg_ParseTuple(args, "OOOOOOO!O!OOO!:Hub", &system, &sim, &network, &trace,
                          &py_send, &py_arrive, &PyType_Type,
                          &message_type, &PyType_Type, &exponential, &crash_unwind,
                          &fields, &PyType_Type, &service_type))
        return -1;
    if (!PyTuple_Check(fields) || PyTuple_GET_SIZE(fields) != N_FIELDS) {
        PyErr_SetString(PyExc_TypeError, "Hub needs Message.FIELDS, a tuple of 10 names");
        return -1;
    }
    hub_clear(self);
    for (Py_ssize_t i = 0; i < N_FIELDS; i++) {
        PyObject *name = PyTuple_GET_ITEM(fields, i);
        const char *text = PyUnicode_AsUTF8(name);
        if (text == NULL)
            return -1;
        if ((self->off[i] = slot_offset(message_type, text, NULL)) < 0) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "Message.%U must be a slot", name);
            return -1;
        }
    }
    PyObject *sim_type = (PyObject *)Py_TYPE(sim), *trace_type = (PyObject *)Py_TYPE(trace),
             *net_type = (PyObject *)Py_TYPE(network), *sys_type = (PyObject *)Py_TYPE(system);
    self->o_now = slot_offset(sim_type, "now", NULL);
    self->o_enabled = slot_offset(trace_type, "enabled", NULL);
    self->o_records = slot_offset(trace_type, "records", NULL);
    self->o_latency = slot_offset(net_type, "latency", NULL);
    self->o_ids = slot_offset(sys_type, "_ids", NULL);
    self->o_handling = slot_offset(sys_type, "_handling", NULL);
    self->o_faults = slot_offset(net_type, "faults", NULL);
    self->o_links = slot_offset(net_type, "links", NULL);
    self->o_heap = slot_offset(sim_type, "_heap", NULL);
    self->o_seq = slot_offset(sim_type, "_seq", NULL);
    self->o_rng = slot_offset(sim_type, "random", NULL);
    self->o_services = slot_offset(sys_type, "services", NULL);
    for (int k = 0; k < N_SVC; k++)
        self->svc_off[k] = slot_offset(service_type, SVC_NAMES[k], &self->svc_descr[k]);
    if (PyErr_Occurred())
        return -1;
    self->system = Py_NewRef(system); self->sim = Py_NewRef(sim);
    self->network = Py_NewRef(network); self->trace = Py_NewRef(trace);
    self->py_send = Py_NewRef(py_send); self->py_arrive = Py_NewRef(py_arrive);
    self->message_type = Py_NewRef(message_type); self->exponential = Py_NewRef(exponential);
    self->crash_unwind = Py_NewRef(crash_unwind);
    self->deliver = PyObject_GetAttrString((PyObject *)self, "deliver");
    if (self->deliver == NULL)
        return -1;
    int odd = refresh(self);
    if (odd > 0)
        PyErr_SetString(PyExc_TypeError, "Hub: unexpected simulation or network layout");
    return odd == 0 ? 0 : -1;
}

static PyObject *
hub_get_delivery(Hub *self, void *closure)
{
    return Py_NewRef(self->deliver ? self->deliver : Py_None);
}

static PyGetSetDef hub_getset[] = {
    {"delivery", (getter)hub_get_delivery, NULL,
     "The one bound deliver method that every delivery on the heap carries.", NULL},
    {NULL},
};

static PyTypeObject HubType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "microlab._speedups.Hub",
    .tp_basicsize = sizeof(Hub),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Hub(system, sim, network, trace, send_message, arrive, Message, "
              "Exponential, CrashUnwind, Message.FIELDS, Service): one system's hot path.",
    .tp_traverse = (traverseproc)hub_traverse,
    .tp_clear = (inquiry)hub_clear,
    .tp_dealloc = (destructor)hub_dealloc,
    .tp_methods = hub_methods,
    .tp_getset = hub_getset,
    .tp_init = (initproc)hub_init,
    .tp_new = PyType_GenericNew,
};

/* run_events(sim, budget, horizon): Simulation.run's loop. Pops and runs the callbacks due
 * by ``horizon``, at most ``budget`` of them, and returns how many returned; it adds that
 * count to ``sim.events`` itself, also when a callback raises. */
static PyObject *
run_events(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "run_events(sim, budget, horizon) takes 3 arguments");
        return NULL;
    }
    PyObject *sim = args[0], *horizon = args[2];
    Py_ssize_t budget = PyLong_AsSsize_t(args[1]);
    if (budget == -1 && PyErr_Occurred())
        return NULL;
    PyObject *type = (PyObject *)Py_TYPE(sim);
    Py_ssize_t o_now = slot_offset(type, "now", NULL);
    Py_ssize_t o_cancelled = slot_offset(type, "_cancelled", NULL);
    PyObject *heap = PyObject_GetAttrString(sim, "_heap");
    if (o_now < -1 || o_cancelled < -1 || heap == NULL)
        return NULL;
    if (!PyList_CheckExact(heap)) {
        Py_DECREF(heap);
        PyErr_SetString(PyExc_TypeError, "run_events: the simulation's heap must be a list");
        return NULL;
    }
    int float_horizon = PyFloat_CheckExact(horizon);
    double until = float_horizon ? PyFloat_AS_DOUBLE(horizon) : 0.0;
    Py_ssize_t done = 0;
    int failed = 0;
    for (; done < budget; done++) {
        PyObject *cancelled = get(sim, o_cancelled, S_cancelled);
        if (cancelled == NULL) {
            failed = 1;
            break;
        }
        Py_ssize_t skip = PyLong_AsSsize_t(cancelled);
        Py_DECREF(cancelled);
        if (skip == -1 && PyErr_Occurred()) {
            failed = 1;
            break;
        }
        if (PyList_GET_SIZE(heap) <= skip)
            break;
        PyObject *top = PyList_GET_ITEM(heap, 0);
        if (!PyTuple_CheckExact(top) || PyTuple_GET_SIZE(top) != 4) {
            PyErr_SetString(PyExc_TypeError, "run_events: heap entries must be (time, seq, fn, arg)");
            failed = 1;
            break;
        }
        PyObject *t = PyTuple_GET_ITEM(top, 0);
        int later;
        if (float_horizon && PyFloat_CheckExact(t))
            later = PyFloat_AS_DOUBLE(t) > until;
        else if ((later = PyObject_RichCompareBool(t, horizon, Py_GT)) < 0) {
            failed = 1;
            break;
        }
        if (later)
            break;
        PyObject *entry = heap_pop(heap);
        if (entry == NULL) {
            failed = 1;
            break;
        }
        if (set(sim, o_now, S_now, PyTuple_GET_ITEM(entry, 0)) < 0) {
            Py_DECREF(entry);
            failed = 1;
            break;
        }
        PyObject *res = PyObject_CallOneArg(PyTuple_GET_ITEM(entry, 2), PyTuple_GET_ITEM(entry, 3));
        Py_DECREF(entry);
        if (res == NULL) {
            failed = 1;
            break;
        }
        Py_DECREF(res);
        /* A callback that runs no Python code would never let Ctrl-C (a notebook's
         * "interrupt kernel") through: look for it now and then. */
        if ((done & 0xFFF) == 0xFFF && PyErr_CheckSignals() < 0) {
            done++;
            failed = 1;
            break;
        }
    }
    Py_DECREF(heap);
    /* sim.events += done, keeping a pending error (a callback's) as it is. */
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    PyObject *events = PyObject_GetAttrString(sim, "events");
    PyObject *count = PyLong_FromSsize_t(done);
    PyObject *total = events && count ? PyNumber_Add(events, count) : NULL;
    int bad = total == NULL || PyObject_SetAttrString(sim, "events", total) < 0;
    Py_XDECREF(events); Py_XDECREF(count); Py_XDECREF(total);
    if (et != NULL) {
        if (bad)
            PyErr_Clear();
        PyErr_Restore(et, ev, tb);
        return NULL;
    }
    if (bad || failed)
        return NULL;
    return PyLong_FromSsize_t(done);
}

static PyMethodDef module_methods[] = {
    {"run_events", (PyCFunction)(void (*)(void))run_events, METH_FASTCALL,
     "run_events(sim, budget, horizon) -> int: Simulation.run's loop (see microlab/kernel.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "microlab._speedups",
    "An optional compiled hot path for microlab's simulator (see microlab/hotpath.py).", -1,
    module_methods,
};

#define INTERN(var, text) if (((var) = PyUnicode_InternFromString(text)) == NULL) return NULL

PyMODINIT_FUNC
PyInit__speedups(void)
{
    INTERN(S_correlation, "correlation"); INTERN(S_id, "id"); INTERN(S_ids, "_ids");
    INTERN(S_now, "now"); INTERN(S_enabled, "enabled"); INTERN(S_records, "records");
    INTERN(S_latency, "latency"); INTERN(S_rate, "rate"); INTERN(S_sample, "sample");
    INTERN(S_plain_receive, "_plain_receive"); INTERN(S_workers, "workers");
    INTERN(S_receive, "_receive"); INTERN(S_work_time, "work_time"); INTERN(S_start, "_start");
    INTERN(S_handling, "_handling"); INTERN(S_plain_handle, "_plain_handle");
    INTERN(S_handle, "handle"); INTERN(S_popleft, "popleft");
    INTERN(S_handler_failed, "_handler_failed"); INTERN(S_type, "type"); INTERN(S_cancelled, "_cancelled");
    for (int k = 0; k < N_SVC; k++)
        INTERN(SVC_STR[k], SVC_NAMES[k]);
    /* The record kinds: interned, so the very objects microlab.trace's constants are. */
    INTERN(K_SEND, "send"); INTERN(K_DELIVER, "deliver"); INTERN(K_START, "start");
    INTERN(K_END, "end");
    if ((ONE = PyLong_FromLong(1)) == NULL)
        return NULL;
    if (PyType_Ready(&HubType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&HubType);
    if (PyModule_AddObject(m, "Hub", (PyObject *)&HubType) < 0) {
        Py_DECREF(&HubType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
