/*
 * loader.js: runs the physics example in a page, by the path the page
 * can have:
 *
 *   shared    crossOriginIsolated and SharedArrayBuffer: the pthreads build
 *             (build/wasm/threads/physics.js), the pool's threads Web
 *             Workers mutating the SoA columns in place in one shared
 *             memory
 *   transfer  otherwise: the build without threads (physics_web.js), the
 *             kernel in a Web Worker with its own instance, columns
 *             transferred each frame (transfer.js)
 *
 * No framework, no bundler: a <script> tag, then
 *   SoaLoader.choosePath()            -> {path, why}
 *   SoaLoader.run({entities, frames, threads, wasm, onFrame, onLog})
 *                                     -> Promise of {path, why, threads,
 *                                        checksum, frames, mean}
 * `wasm` is the URL of build/wasm/ (with a trailing slash).  Each frame's
 * onFrame({frame, build, run, commit}) is in milliseconds.
 */
(function (root) {
    'use strict';

    /* Where this script is: the worker script sits next to it. */
    const scriptUrl = typeof document !== 'undefined' && document.currentScript
        ? document.currentScript.src : null;

    function choosePath() {
        const sab = typeof SharedArrayBuffer === 'function';
        const isolated = root.crossOriginIsolated === true;
        if (sab && isolated)
            return { path: 'shared', why: 'crossOriginIsolated and SharedArrayBuffer: the pthreads build, columns shared in place' };
        return {
            path: 'transfer',
            why: (isolated ? 'no SharedArrayBuffer' : 'not cross-origin isolated (no COOP/COEP headers)') +
                 ': the build without threads, columns transferred to a Web Worker each frame',
        };
    }

    function loadScript(url) {
        return new Promise((resolve, reject) => {
            const s = document.createElement('script');
            s.src = url;
            s.onload = resolve;
            s.onerror = () => reject(new Error('could not load ' + url));
            document.head.appendChild(s);
        });
    }

    /* The pthreads build's main(), with the example's own options; its
     * output lines are parsed for the per-frame times and the checksum. */
    function runShared(o) {
        return new Promise((resolve, reject) => {
            const result = { threads: 0, checksum: null, frames: 0, mean: null };
            const us = (s) => parseFloat(s) / 1000;
            const frameLine = /^(frame \d+|mean)\s+build\s+([\d.]+) us\s+run\s+([\d.]+) us\s+commit\s+([\d.]+) us/;
            root.Module = {
                arguments: ['-n', String(o.entities), '-f', String(o.frames),
                            '-t', String(o.threads), '-e', '1'],
                print: (line) => {
                    o.onLog(line);
                    let m;
                    if ((m = /, (\d+) threads,/.exec(line)))
                        result.threads = Number(m[1]);
                    else if ((m = frameLine.exec(line))) {
                        const t = { build: us(m[2]), run: us(m[3]), commit: us(m[4]) };
                        if (m[1] === 'mean')
                            result.mean = t;
                        else {
                            result.frames = Number(m[1].slice(6));
                            o.onFrame(Object.assign({ frame: result.frames }, t));
                        }
                    } else if ((m = /^checksum ([0-9a-f]{16})$/.exec(line)))
                        result.checksum = m[1];
                },
                printErr: (line) => o.onLog(line),
                onExit: (code) => (code === 0 && result.checksum ? resolve(result)
                    : reject(new Error('the physics example exited with status ' + code))),
                onAbort: (what) => reject(new Error('aborted: ' + what)),
            };
            loadScript(o.wasm + 'threads/physics.js').catch(reject);
        });
    }

    /* A channel to a Web Worker: send, and receive the next reply. */
    function channel(worker) {
        const queue = [], waiting = [];
        worker.onmessage = (e) => (waiting.length ? waiting.shift()(e.data) : queue.push(e.data));
        return {
            send: (msg, transfer) => worker.postMessage(msg, transfer),
            receive: () => new Promise((resolve, reject) => {
                worker.onerror = (e) => reject(new Error('worker: ' + e.message));
                queue.length ? resolve(queue.shift()) : waiting.push(resolve);
            }),
        };
    }

    /* The physics example's world in the page's instance, Integrate run
     * by a Web Worker with its own (transfer.js, soa-worker.js). */
    async function runTransferPath(o) {
        const here = scriptUrl || location.href;
        const moduleUrl = new URL(o.wasm + 'single/physics_web.js', location.href).href;
        const dir = moduleUrl.slice(0, moduleUrl.lastIndexOf('/') + 1);
        await loadScript(moduleUrl);
        const mod = await root.createPhysicsWeb({ locateFile: (p) => dir + p });
        if (mod._web_init(o.entities) !== 0)
            throw new Error('transfer: out of memory for ' + o.entities + ' entities');
        const workerUrl = new URL('soa-worker.js', here).href + '?module=' +
                          encodeURIComponent(moduleUrl) + '&factory=createPhysicsWeb';
        const worker = new Worker(workerUrl);
        try {
            const r = await root.SoaTransfer.runTransfer(mod, channel(worker), {
                system: 'Integrate', world: mod._web_world(), frames: o.frames, hz: 60, onFrame: o.onFrame });
            r.checksum = mod.UTF8ToString(mod._web_checksum());
            r.threads = 1; /* the page's own, plus one Web Worker */
            return r;
        } finally {
            worker.terminate();
        }
    }

    async function run(opts) {
        const o = Object.assign({ entities: 200000, frames: 120, threads: 0,
                                  wasm: '../../build/wasm/', onFrame: () => {}, onLog: () => {} }, opts);
        const chosen = choosePath();
        o.onLog('loader: path ' + chosen.path + ' (' + chosen.why + ')');
        const r = chosen.path === 'shared' ? await runShared(o) : await runTransferPath(o);
        return Object.assign({ path: chosen.path, why: chosen.why }, r);
    }

    root.SoaLoader = { choosePath: choosePath, run: run };
})(typeof globalThis !== 'undefined' ? globalThis : this);
