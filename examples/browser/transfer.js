/*
 * transfer.js: the transfer path, for a page without SharedArrayBuffer
 * (not cross-origin isolated) and for Node's worker_threads without a
 * shared memory.  Runs the physics example with Integrate's kernel in a
 * worker that holds its own instance of physics_web.js:
 *
 *   build   the page's instance gathers Integrate's snapshot; its four
 *           columns (Velocity.x/y, Position.x/y) are copied out of the
 *           instance's memory into fresh ArrayBuffers
 *   run     the buffers are transferred (moved, not cloned) to the worker,
 *           which copies them into its instance, runs the kernel and
 *           transfers back only the rows it changed (row, x, y)
 *   commit  the page copies those rows into the snapshot and commits them
 *           to the world
 *
 * Works in a browser (a <script> tag: window.SoaTransfer) and in Node
 * (require): the caller hands in the page's module instance and a channel
 * to the worker (see channel() in loader.js and run-node.js).
 */
(function (root) {
    'use strict';

    const HZ = 60; /* the physics example's frame rate (physics_sim.h) */
    const COLUMNS = 4; /* Velocity.x, Velocity.y, Position.x, Position.y */

    const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

    /* A fresh ArrayBuffer with `bytes` bytes of the instance's memory at
     * `ptr`: the copy that can be transferred (the memory itself cannot). */
    function copyOut(mod, ptr, bytes) {
        return mod.HEAPU8.slice(ptr, ptr + bytes).buffer;
    }

    /*
     * Runs `frames` frames of `entities` entities.  `mod` is the page's
     * instance of physics_web.js; `chan` = {send(msg, transfer), receive()
     * -> Promise of the next reply}; onFrame(stats) is called after each
     * frame with {frame, rows, changed, build, run, commit} (ms).  Resolves
     * to {checksum, frames, mean: {build, run, commit}}; rejects with an
     * Error that says what failed.
     */
    async function runTransfer(mod, chan, entities, frames, onFrame) {
        if (mod._web_init(entities) !== 0)
            throw new Error('transfer: out of memory for ' + entities + ' entities');
        const sum = { build: 0, run: 0, commit: 0 };
        for (let f = 0; f < frames; f++) {
            const t0 = now();
            const rows = mod._web_build();
            if (rows < 0)
                throw new Error('transfer: frame ' + f + ': the snapshot could not be built');
            const cols = [];
            for (let k = 0; k < COLUMNS; k++)
                cols.push(copyOut(mod, mod._web_column(k), rows * 4));
            const t1 = now();
            chan.send({ frame: f, rows: rows, dt: 1 / HZ, time: f / HZ, cols: cols }, cols);
            const r = await chan.receive();
            const t2 = now();
            if (r.error || r.frame !== f)
                throw new Error('transfer: frame ' + f + ': the worker answered ' +
                                (r.error || 'about frame ' + r.frame));
            const n = r.count;
            const scratch = mod._web_scratch(n);
            if (n > 0 && !scratch)
                throw new Error('transfer: frame ' + f + ': out of memory for ' + n + ' rows');
            const heap = mod.HEAPU8;
            heap.set(new Uint8Array(r.row), scratch);
            heap.set(new Uint8Array(r.x), scratch + n * 4);
            heap.set(new Uint8Array(r.y), scratch + n * 8);
            if (mod._web_commit(n) < 0)
                throw new Error('transfer: frame ' + f + ': the worker sent a row out of range');
            const t3 = now();
            const stats = { frame: f + 1, rows: rows, changed: n,
                            build: t1 - t0, run: t2 - t1, commit: t3 - t2 };
            sum.build += stats.build;
            sum.run += stats.run;
            sum.commit += stats.commit;
            if (onFrame)
                onFrame(stats);
        }
        return {
            checksum: mod.UTF8ToString(mod._web_checksum()),
            frames: frames,
            mean: { build: sum.build / frames, run: sum.run / frames, commit: sum.commit / frames },
        };
    }

    /*
     * The worker's side: answers each frame message with the changed rows.
     * `mod` is the worker's own instance; `reply(msg, transfer)` posts back.
     */
    function serveFrame(mod, msg, reply) {
        const rows = msg.rows;
        if (mod._web_kernel_reserve(rows) !== 0) {
            reply({ frame: msg.frame, error: 'out of memory for ' + rows + ' rows' }, []);
            return;
        }
        for (let k = 0; k < COLUMNS; k++)
            mod.HEAPU8.set(new Uint8Array(msg.cols[k]), mod._web_kernel_column(k));
        const n = mod._web_kernel_run(rows, msg.dt, msg.time, msg.frame);
        if (n < 0) {
            reply({ frame: msg.frame, error: 'the kernel refused ' + rows + ' rows' }, []);
            return;
        }
        /* Columns 4, 5, 6: the changed rows' indices, x and y, packed. */
        const out = [4, 5, 6].map((k) => copyOut(mod, mod._web_kernel_column(k), n * 4));
        reply({ frame: msg.frame, count: n, row: out[0], x: out[1], y: out[2] }, out);
    }

    const api = { runTransfer: runTransfer, serveFrame: serveFrame };
    root.SoaTransfer = api;
    if (typeof module === 'object' && module.exports)
        module.exports = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
