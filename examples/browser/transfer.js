/*
 * transfer.js: the transfer path, for a page without SharedArrayBuffer
 * (not cross-origin isolated) and for Node's worker_threads without a
 * shared memory.  Runs any system a module offloads (soa_web.h) in a
 * worker that holds its own instance of the module, knowing of the system
 * only what the module says: its columns, their sizes and which are
 * written.  Each frame:
 *
 *   build   the page's instance builds the system's snapshot; each column
 *           is copied out of the instance's memory into a fresh ArrayBuffer
 *   run     the buffers are transferred (moved, not cloned) to the worker,
 *           which checks their sizes, copies them into its instance, runs
 *           the kernel there and transfers back one buffer: each written
 *           component's changed bitset and the values of its changed rows
 *   commit  the page copies that buffer into its instance, which checks it
 *           against its own snapshot and commits the rows to the world
 *
 * Works in a browser (a <script> tag: window.SoaTransfer) and in Node
 * (require): the caller hands in the page's module instance and a channel
 * to the worker (see channel() in loader.js and run-node.js).
 */
(function (root) {
    'use strict';

    const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

    /* A fresh ArrayBuffer with `bytes` bytes of the instance's memory at
     * `ptr`: the copy that can be transferred (the memory itself cannot). */
    function copyOut(mod, ptr, bytes) {
        return mod.HEAPU8.slice(ptr, ptr + bytes).buffer;
    }

    /* System `name` of instance `mod`: its id and columns' sizes, or an
     * Error when the module does not offload it. */
    function describe(mod, name) {
        const id = mod.ccall('soa_web_find', 'number', ['string'], [name]);
        if (id < 0)
            throw new Error('transfer: the module offloads no system ' + name);
        const sizes = [], written = [];
        for (let k = 0, n = mod._soa_web_ncols(id); k < n; k++) {
            sizes.push(mod._soa_web_col_size(id, k));
            written.push(mod._soa_web_col_written(id, k) === 1);
        }
        return { id: id, name: name, sizes: sizes, written: written };
    }

    /*
     * System `name` of the page's instance `mod`, run by the worker at the
     * other end of `chan` = {send(msg, transfer), receive() -> Promise of
     * the next reply}.  Returns {columns, frame(world, index, dt, time)}:
     * columns says what the module described; frame runs one frame on the
     * world at `world` (a pointer in `mod`) and resolves to {rows,
     * changed, build, run, commit} (ms), or rejects with an Error that
     * says what failed.
     */
    function offload(mod, chan, name) {
        const d = describe(mod, name);
        async function frame(world, f, dt, time) {
            const t0 = now();
            const rows = mod._soa_web_build(d.id, world);
            if (rows < 0)
                throw new Error('transfer: ' + name + ': frame ' + f + ': the snapshot could not be built');
            const cols = d.sizes.map((size, k) => copyOut(mod, mod._soa_web_col(d.id, k), rows * size));
            const t1 = now();
            chan.send({ system: name, frame: f, rows: rows, dt: dt, time: time, cols: cols }, cols);
            const r = await chan.receive();
            const t2 = now();
            if (!r || r.error || r.frame !== f || r.system !== name)
                throw new Error('transfer: ' + name + ': frame ' + f + ': the worker answered ' +
                                (r && r.error ? r.error : 'about another frame'));
            if (!(r.out instanceof ArrayBuffer))
                throw new Error('transfer: ' + name + ': frame ' + f + ': no reply buffer');
            const bytes = r.out.byteLength;
            const inbox = mod._soa_web_inbox(d.id, bytes);
            if (!inbox)
                throw new Error('transfer: ' + name + ': frame ' + f + ': out of memory for ' + bytes + ' bytes');
            mod.HEAPU8.set(new Uint8Array(r.out), inbox);
            const changed = mod._soa_web_commit(d.id, world, bytes);
            if (changed < 0)
                throw new Error('transfer: ' + name + ': frame ' + f + ': the reply does not fit the snapshot');
            const t3 = now();
            return { rows: rows, changed: changed, build: t1 - t0, run: t2 - t1, commit: t3 - t2 };
        }
        return { columns: { sizes: d.sizes, written: d.written }, frame: frame };
    }

    /*
     * Runs `o.frames` frames of system `o.system` on the world at
     * `o.world` in the page's instance `mod`, at `o.hz` frames a second
     * (frame f at time f / hz); o.onFrame(stats) is called after each
     * frame with {frame, rows, changed, build, run, commit} (ms).
     * Resolves to {frames, mean: {build, run, commit}}.
     */
    async function runTransfer(mod, chan, o) {
        const sys = offload(mod, chan, o.system);
        const sum = { build: 0, run: 0, commit: 0 };
        for (let f = 0; f < o.frames; f++) {
            const s = await sys.frame(o.world, f, 1 / o.hz, f / o.hz);
            s.frame = f + 1;
            sum.build += s.build;
            sum.run += s.run;
            sum.commit += s.commit;
            if (o.onFrame)
                o.onFrame(s);
        }
        const n = o.frames || 1;
        return { frames: o.frames, mean: { build: sum.build / n, run: sum.run / n, commit: sum.commit / n } };
    }

    /*
     * The worker's side: answers one frame message with the packed changed
     * rows.  `mod` is the worker's own instance; `reply(msg, transfer)`
     * posts back.  The message comes from another thread: its row count
     * and every buffer's size are checked before a byte is copied in.
     */
    const described = new WeakMap(); /* mod -> {name -> describe()} */
    function serveFrame(mod, msg, reply) {
        const fail = (why) => reply({ system: msg && msg.system, frame: msg && msg.frame, error: why }, []);
        let systems = described.get(mod);
        if (!systems)
            described.set(mod, (systems = new Map()));
        let d = systems.get(msg.system);
        if (!d) {
            try {
                d = describe(mod, String(msg.system));
            } catch (e) {
                return fail(e.message);
            }
            systems.set(msg.system, d);
        }
        const rows = msg.rows;
        if (!Number.isInteger(rows) || rows < 0 || rows > 0x7fffffff)
            return fail('bad row count ' + rows);
        if (!Array.isArray(msg.cols) || msg.cols.length !== d.sizes.length)
            return fail('expected ' + d.sizes.length + ' columns');
        for (let k = 0; k < d.sizes.length; k++)
            if (!(msg.cols[k] instanceof ArrayBuffer) || msg.cols[k].byteLength !== rows * d.sizes[k])
                return fail('column ' + k + ' is not ' + rows + ' rows of ' + d.sizes[k] + ' bytes');
        if (mod._soa_web_kernel_reserve(d.id, rows) !== 0)
            return fail('out of memory for ' + rows + ' rows');
        for (let k = 0; k < d.sizes.length; k++)
            mod.HEAPU8.set(new Uint8Array(msg.cols[k]), mod._soa_web_kernel_col(d.id, k));
        const bytes = mod._soa_web_kernel_run(d.id, rows, +msg.dt, +msg.time, msg.frame);
        if (bytes < 0)
            return fail('the kernel refused ' + rows + ' rows of frame ' + msg.frame);
        const out = copyOut(mod, mod._soa_web_kernel_out(d.id), bytes);
        reply({ system: msg.system, frame: msg.frame, rows: rows, out: out }, [out]);
    }

    const api = { offload: offload, runTransfer: runTransfer, serveFrame: serveFrame };
    root.SoaTransfer = api;
    if (typeof module === 'object' && module.exports)
        module.exports = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
