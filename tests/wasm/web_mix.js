/*
 * web_mix.js: system Mix (web_mix.c) through the generic transfer path
 * (examples/browser/transfer.js and soa-worker.js) under Node
 * worker_threads, then the wire data each side must refuse.
 *
 *   node --no-experimental-fetch tests/wasm/web_mix.js MODULE N FRAMES
 *
 * Prints "rows R written W" and "checksum X" as the native web_mix does
 * (tests/wasm_node.sh compares them), then one line per refusal checked;
 * exits 1 with "FAIL: ..." when a refusal is missing or the world changed.
 */
'use strict';

const path = require('path');
const { Worker } = require('worker_threads');

const root = path.resolve(__dirname, '..', '..');
const transfer = require(path.join(root, 'examples', 'browser', 'transfer.js'));

function channel(worker) {
    const queue = [], waiting = [];
    worker.on('message', (m) => (waiting.length ? waiting.shift()(m) : queue.push(m)));
    worker.on('error', (e) => { console.error('FAIL: worker: ' + e.message); process.exit(1); });
    return {
        send: (msg, list) => worker.postMessage(msg, list),
        receive: () => new Promise((resolve) => (queue.length ? resolve(queue.shift()) : waiting.push(resolve))),
    };
}

function check(ok, what) {
    if (!ok) {
        console.log('FAIL: ' + what);
        process.exit(1);
    }
    console.log('ok: ' + what);
}

async function main() {
    const [modPath, n, frames] = [path.resolve(process.argv[2]), Number(process.argv[3]), Number(process.argv[4])];
    const mod = await require(modPath)();
    if (mod._web_init(n) !== 0)
        throw new Error('web_init failed');
    const world = mod._web_world();
    const worker = new Worker(path.join(root, 'examples', 'browser', 'soa-worker.js'), { workerData: { module: modPath } });
    const chan = channel(worker);
    const sys = transfer.offload(mod, chan, 'Mix');
    console.log('columns ' + sys.columns.sizes.map((s, k) => s + (sys.columns.written[k] ? 'w' : 'r')).join(' '));
    let written = 0, rows = 0;
    for (let f = 0; f < frames; f++) {
        const s = await sys.frame(world, f, 1 / 60, f / 60);
        written += s.changed;
        rows = s.rows;
    }
    console.log('rows ' + rows + ' written ' + written);
    const sum = mod.UTF8ToString(mod._web_checksum());
    console.log('checksum ' + sum);

    /* A genuine reply for one more frame, to corrupt. */
    const id = mod.ccall('soa_web_find', 'number', ['string'], ['Mix']);
    const built = mod._soa_web_build(id, world);
    const sizes = sys.columns.sizes;
    const cols = sizes.map((size, k) => mod.HEAPU8.slice(mod._soa_web_col(id, k), mod._soa_web_col(id, k) + built * size).buffer);
    chan.send({ system: 'Mix', frame: frames, rows: built, dt: 1 / 60, time: frames / 60, cols: cols }, cols);
    const r = await chan.receive();
    check(r.out instanceof ArrayBuffer && !r.error, 'the worker answers a well-formed frame');
    const good = new Uint8Array(r.out);
    const commit = (bytes) => {
        const p = mod._soa_web_inbox(id, bytes.length);
        mod.HEAPU8.set(bytes, p);
        return mod._soa_web_commit(id, world, bytes.length);
    };
    const longer = new Uint8Array(good.length + 8); longer.set(good);
    const ones = good.slice(); ones.fill(0xff, 0, Math.ceil(built / 64) * 8);
    check(commit(new Uint8Array(0)) < 0, 'the page refuses an empty reply');
    check(commit(good.slice(0, good.length - 8)) < 0, 'the page refuses a reply 8 bytes short');
    check(commit(longer) < 0, 'the page refuses a reply 8 bytes long');
    check(commit(good.slice(0, good.length - 1)) < 0, 'the page refuses a reply of odd size');
    check(commit(ones) < 0, 'the page refuses a bitset that names more rows than the reply holds');
    check(mod.UTF8ToString(mod._web_checksum()) === sum, 'refused replies leave the world as it was');

    const ask = async (msg, list) => { chan.send(msg, list || []); return chan.receive(); };
    const col = (k, rowsOf) => new ArrayBuffer(rowsOf * sizes[k]);
    let e = await ask({ system: 'Nope', frame: 1, rows: 0, cols: [] });
    check(/no system Nope/.test(e.error || ''), 'the worker refuses an unknown system');
    e = await ask({ system: 'Mix', frame: 1, rows: 64, cols: sizes.map((_, k) => col(k, k === 3 ? 63 : 64)) });
    check(/column 3 is not 64 rows/.test(e.error || ''), 'the worker refuses a short column');
    e = await ask({ system: 'Mix', frame: 1, rows: -1, cols: [] });
    check(/bad row count/.test(e.error || ''), 'the worker refuses a negative row count');
    e = await ask({ system: 'Mix', frame: 1, rows: 64, cols: sizes.slice(1).map((_, k) => col(k + 1, 64)) });
    check(/expected \d+ columns/.test(e.error || ''), 'the worker refuses a missing column');
    await worker.terminate();
}

main().catch((e) => { console.log('FAIL: ' + e.message); process.exit(1); });
