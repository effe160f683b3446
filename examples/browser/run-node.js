/*
 * run-node.js: the physics example under Node, by either path the page
 * has (loader.js):
 *
 *   shared    the pthreads build (build/wasm/threads/physics.js): the pool's
 *             threads are worker_threads on one shared memory
 *   transfer  the transfer path (transfer.js): the world in this thread's
 *             instance of physics_web.js, the kernel in a worker_threads
 *             Worker with its own instance, columns moved by transfer
 *
 *   node --no-experimental-fetch examples/browser/run-node.js \
 *        [--path shared|transfer] [-n ENTITIES] [-f FRAMES] [-t THREADS]
 *
 * Without --path it picks as the page does: shared when SharedArrayBuffer
 * exists (always, in Node).  Prints which path ran and why, a line per 20
 * frames, the mean build/run/commit per frame and the checksum, as the
 * native example does.  Run from the repository root after `make wasm`
 * (BUILD= another build directory).
 */
'use strict';

const path = require('path');
const { Worker } = require('worker_threads');
const { spawnSync } = require('child_process');
const { runTransfer } = require('./transfer.js');

const root = path.resolve(__dirname, '..', '..');
const wasmDir = path.resolve(root, process.env.BUILD || 'build', 'wasm');

function usage() {
    console.error('usage: run-node.js [--path shared|transfer] [-n ENTITIES] [-f FRAMES] [-t THREADS]');
    process.exit(2);
}

function parse(argv) {
    const o = { path: null, n: 200000, f: 120, t: 0 };
    for (let i = 0; i < argv.length; i += 2) {
        const v = argv[i + 1];
        if (v === undefined)
            usage();
        if (argv[i] === '--path' && (v === 'shared' || v === 'transfer'))
            o.path = v;
        else if (['-n', '-f', '-t'].includes(argv[i]) && /^[0-9]+$/.test(v))
            o[argv[i][1]] = Number(v);
        else
            usage();
    }
    if (o.n < 1 || o.f < 1)
        usage();
    return o;
}

/* A channel to a worker_threads Worker: send, and receive the next reply. */
function channel(worker) {
    const queue = [], waiting = [];
    worker.on('message', (m) => (waiting.length ? waiting.shift()(m) : queue.push(m)));
    worker.on('error', (e) => { console.error('run-node: worker: ' + e.message); process.exit(1); });
    return {
        send: (msg, transfer) => worker.postMessage(msg, transfer),
        receive: () => new Promise((resolve) => (queue.length ? resolve(queue.shift()) : waiting.push(resolve))),
    };
}

async function transfer(o) {
    const modPath = path.join(wasmDir, 'single', 'physics_web.js');
    const mod = await require(modPath)();
    if (mod._web_init(o.n) !== 0)
        throw new Error('transfer: out of memory for ' + o.n + ' entities');
    const worker = new Worker(path.join(__dirname, 'soa-worker.js'), { workerData: { module: modPath } });
    let window = { build: 0, run: 0, commit: 0, frames: 0 };
    const moving = o.n - Math.floor(o.n / 10);
    const line = (label, w) => console.log(
        `${label.padEnd(12)} build ${(w.build / w.frames * 1e3).toFixed(1).padStart(8)} us  ` +
        `run ${(w.run / w.frames * 1e3).toFixed(1).padStart(8)} us  ` +
        `commit ${(w.commit / w.frames * 1e3).toFixed(1).padStart(8)} us  ` +
        `(${(w.build / w.frames * 1e6 / moving).toFixed(2)} / ${(w.run / w.frames * 1e6 / moving).toFixed(2)} / ` +
        `${(w.commit / w.frames * 1e6 / moving).toFixed(2)} ns per entity)`);
    console.log(`physics: ${o.n} entities, ${o.f} frames at 60 Hz, 1 worker, transfer`);
    const onFrame = (s) => {
        window.build += s.build; window.run += s.run; window.commit += s.commit; window.frames++;
        if (window.frames === 20 || s.frame === o.f) {
            line('frame ' + s.frame, window);
            window = { build: 0, run: 0, commit: 0, frames: 0 };
        }
    };
    const r = await runTransfer(mod, channel(worker),
                                { system: 'Integrate', world: mod._web_world(), frames: o.f, hz: 60, onFrame: onFrame });
    line('mean', { build: r.mean.build, run: r.mean.run, commit: r.mean.commit, frames: 1 });
    console.log('checksum ' + mod.UTF8ToString(mod._web_checksum()));
    await worker.terminate();
}

function shared(o) {
    const args = ['--no-experimental-fetch', path.join(wasmDir, 'threads', 'physics.js'),
                  '-n', String(o.n), '-f', String(o.f), '-t', String(o.t)];
    const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
    process.exitCode = r.status === null ? 1 : r.status;
}

const o = parse(process.argv.slice(2));
const chosen = o.path || (typeof SharedArrayBuffer === 'function' ? 'shared' : 'transfer');
console.log(`run-node: path ${chosen} (${o.path ? '--path ' + o.path :
    chosen === 'shared' ? 'SharedArrayBuffer exists: the pthreads build' :
    'no SharedArrayBuffer: the transfer path'})`);
if (chosen === 'shared')
    shared(o);
else
    transfer(o).catch((e) => { console.error('run-node: ' + e.message); process.exit(1); });
