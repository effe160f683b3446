/*
 * soa-worker.js: the worker of the transfer path (transfer.js).  It holds
 * its own instance of a module built with soa_web.c and runs, for each
 * frame message, the kernel of the system the message names on the
 * columns it brings.  It knows no system: the module describes them.
 *
 * In a browser: new Worker('soa-worker.js?module=URL&factory=NAME') (a
 * classic worker: importScripts loads the module, whose MODULARIZE
 * factory is the global NAME).  In Node: a worker_threads Worker with
 * workerData = {module: path} (require returns the factory).
 */
/* A function scope: the module's own `var createX` is global. */
(function () {
    'use strict';
    const inNode = typeof importScripts !== 'function';
    let port, factory, moduleUrl, transfer;

    if (inNode) {
        const wt = require('worker_threads');
        moduleUrl = wt.workerData.module;
        factory = require(moduleUrl);
        port = {
            reply: (msg, list) => wt.parentPort.postMessage(msg, list),
            listen: (fn) => wt.parentPort.on('message', fn),
        };
        transfer = require(require('path').join(__dirname, 'transfer.js'));
    } else {
        const q = new URL(self.location.href).searchParams;
        moduleUrl = q.get('module');
        importScripts(new URL('transfer.js', self.location.href).href, moduleUrl);
        factory = self[q.get('factory')];
        transfer = self.SoaTransfer;
        port = {
            reply: (msg, list) => self.postMessage(msg, list),
            listen: (fn) => { self.onmessage = (e) => fn(e.data); },
        };
    }
    if (typeof factory !== 'function')
        throw new Error('soa-worker: ' + moduleUrl + ' defines no module factory');

    /* The .wasm file sits next to the module's .js (the worker script does
     * not: tell the module where). */
    const dir = inNode ? null : moduleUrl.slice(0, moduleUrl.lastIndexOf('/') + 1);
    const ready = factory(inNode ? {} : { locateFile: (p) => dir + p });

    port.listen(async (msg) => {
        const mod = await ready;
        transfer.serveFrame(mod, msg, port.reply);
    });
})();
