/*
 * physics-worker.js: the worker of the transfer path (transfer.js).  It
 * holds its own instance of physics_web.js and runs Integrate's kernel on
 * the columns each frame message brings.
 *
 * In a browser: new Worker('physics-worker.js?module=URL') (a classic
 * worker: importScripts loads the module).  In Node: a worker_threads
 * Worker with workerData = {module: path}.
 */
/* A function scope: the module's own `var createPhysicsWeb` is global. */
(function () {
    'use strict';
    const inNode = typeof importScripts !== 'function';
    let port, createPhysicsWeb, moduleUrl, transfer;

    if (inNode) {
        const wt = require('worker_threads');
        moduleUrl = wt.workerData.module;
        createPhysicsWeb = require(moduleUrl);
        port = {
            reply: (msg, list) => wt.parentPort.postMessage(msg, list),
            listen: (fn) => wt.parentPort.on('message', fn),
        };
        transfer = require(require('path').join(__dirname, 'transfer.js'));
    } else {
        moduleUrl = new URL(self.location.href).searchParams.get('module');
        importScripts(new URL('transfer.js', self.location.href).href, moduleUrl);
        createPhysicsWeb = self.createPhysicsWeb;
        transfer = self.SoaTransfer;
        port = {
            reply: (msg, list) => self.postMessage(msg, list),
            listen: (fn) => { self.onmessage = (e) => fn(e.data); },
        };
    }

    /* The .wasm file sits next to the module's .js (the worker script does
     * not: tell the module where). */
    const dir = inNode ? null : moduleUrl.slice(0, moduleUrl.lastIndexOf('/') + 1);
    const ready = createPhysicsWeb(inNode ? {} : { locateFile: (p) => dir + p });

    port.listen(async (msg) => {
        const mod = await ready;
        transfer.serveFrame(mod, msg, port.reply);
    });
})();
