// Opens the gateway's /docs in headless Chromium (Debian's chromium, driven by Debian's
// chromium-driver over the WebDriver protocol) and checks what a client developer sees:
//   - Swagger UI rendered every operation of the gateway's own /openapi.json ("POST
//     /api/v1/orders", ...), the schemas section and the Authorize button;
//   - Authorize takes a bearer token, and "Try it out" on GET /api/v1/orders sends it (the
//     request URL and curl line the page shows) and displays the gateway's answer;
//   - every file the page loaded came from the gateway (127.0.0.1): no CDN, no other host.
// It saves a screenshot of the rendered operations as a PNG.
//   node browser_check.mjs --port <gateway port> --driver-port <free port> --screenshot <png>
//                          --work <scratch dir>
// Exits 0 when every check passed; otherwise prints why and exits 1. A missing browser or driver
// is a failure, never a skip. Needs nothing but Node's standard library (Node 18 or later).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2)
    args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
for (const k of ["port", "driver-port", "screenshot", "work"])
    if (!args[k]) refuse(`missing --${k}`);

const chromium = process.env.OG_CHROMIUM || "/usr/bin/chromium";
const chromedriver = process.env.OG_CHROMEDRIVER || "/usr/bin/chromedriver";
// Bounded waits, generous for a loaded 2-core machine; nothing here asserts a duration.
const STEP_TIMEOUT_MS = 90_000;
const origin = `http://127.0.0.1:${args.port}`;
const driverUrl = `http://127.0.0.1:${args["driver-port"]}`;

// Before the browser starts: nothing to clean up.
function refuse(why) {
    console.error(`FAIL: ${why}`);
    process.exit(1);
}
// Once it runs: main()'s caller closes the browser and the driver.
function fail(why) {
    throw new Error(why);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, probe) {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    let last;
    while (Date.now() < deadline) {
        try {
            const v = await probe();
            if (v) return v;
        } catch (e) {
            last = e;
        }
        await sleep(250);
    }
    throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

async function wd(method, path, body) {
    const res = await fetch(driverUrl + path, {
        method,
        headers: body ? { "Content-Type": "application/json" } : {},
        body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json.value)}`);
    return json.value;
}

for (const [what, path] of [["chromium", chromium], ["chromedriver", chromedriver]])
    if (!existsSync(path))
        refuse(`${what} not found at ${path} (Debian packages chromium and chromium-driver; ` +
             `scripts/install-deps.sh installs them)`);

mkdirSync(args.work, { recursive: true });
const driver = spawn(chromedriver, [`--port=${args["driver-port"]}`, "--allowed-ips=127.0.0.1"], {
    stdio: ["ignore", "inherit", "inherit"],
});
let driverExited = false;
driver.on("exit", () => { driverExited = true; });
let session;

async function main() {
    await until("chromedriver", async () => {
        if (driverExited) throw new Error("chromedriver exited");
        return (await wd("GET", "/status")).ready;
    });
    const created = await wd("POST", "/session", {
        capabilities: {
            alwaysMatch: {
                browserName: "chrome",
                "goog:chromeOptions": {
                    binary: chromium,
                    args: [
                        "--headless=new",
                        "--no-sandbox",  // tests run as root in CI
                        "--disable-gpu",
                        "--disable-dev-shm-usage",
                        "--window-size=1280,1400",
                        `--user-data-dir=${args.work}/profile`,
                        // Nothing but the gateway: every other host fails to resolve, no proxy,
                        // none of the browser's own background traffic.
                        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                        "--no-proxy-server",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--disable-default-apps",
                        "--no-first-run",
                    ],
                },
            },
        },
    });
    session = created.sessionId;
    const s = `/session/${session}`;
    const run = (script, ...a) => wd("POST", `${s}/execute/sync`, { script, args: a });
    const find = async (css) =>
        Object.values(await wd("POST", `${s}/element`, { using: "css selector", value: css }))[0];
    const click = async (css) => wd("POST", `${s}/element/${await find(css)}/click`, {});

    // What the page must show: the gateway's own document, read the way the page reads it.
    const doc = await (await fetch(`${origin}/openapi.json`)).json();
    const expected = [];
    for (const [path, item] of Object.entries(doc.paths))
        for (const m of ["get", "put", "post", "delete", "patch"])
            if (item[m]) expected.push(`${m.toUpperCase()} ${path}`);
    if (!expected.includes("POST /api/v1/orders")) fail("openapi.json has no POST /api/v1/orders");

    await wd("POST", `${s}/url`, { url: `${origin}/docs` });
    const shown = await until(`Swagger UI to render ${expected.length} operations`, async () => {
        const ops = await run(`return [...document.querySelectorAll('.opblock-summary')].map(e =>
            (e.querySelector('.opblock-summary-method')?.textContent.trim() + ' ' +
             (e.querySelector('.opblock-summary-path')?.getAttribute('data-path') ||
              e.querySelector('.opblock-summary-path')?.textContent.trim())))`);
        return ops.length >= expected.length ? ops : null;
    });
    const missing = expected.filter((op) => !shown.includes(op));
    if (missing.length)
        fail(`operations not rendered: ${missing.join(", ")}; shown: ${shown.join(", ")}`);
    console.log(`rendered ${shown.length} operations, ${expected.slice(0, 3).join(", ")}, ...`);

    const title = await run("return document.querySelector('.info .title')?.textContent || ''");
    if (!title.includes(doc.info.title))
        fail(`the title '${doc.info.title}' is not shown: '${title}'`);
    await until("the schemas section", () =>
        run(`return [...document.querySelectorAll('.models h4, .models-control')]
                 .some(e => /Schemas/.test(e.textContent))`));

    // The screenshot: the operations and the Authorize button in view.
    await run("document.querySelector('.scheme-container')?.scrollIntoView()");
    await sleep(500);
    mkdirSync(dirname(args.screenshot), { recursive: true });
    writeFileSync(args.screenshot, Buffer.from(await wd("GET", `${s}/screenshot`), "base64"));
    console.log(`screenshot: ${args.screenshot}`);

    // Authorize with a bearer token (the bearerAuth scheme of openapi.json).
    if (doc.components?.securitySchemes?.bearerAuth?.scheme !== "bearer")
        fail("openapi.json declares no bearerAuth (http bearer) security scheme");
    await click(".auth-wrapper .authorize");
    const token = "docs-test-token";
    const input = await until("the bearerAuth token field", () =>
        find(".modal-ux input[type=text], .modal-ux input[type=password]"));
    await wd("POST", `${s}/element/${input}/value`, { text: token });
    await until("the token accepted", async () => {
        // The first Authorize button of the dialog is bearerAuth's (it is listed first).
        await click(".modal-ux .auth-btn-wrapper .authorize");
        return run(`return document.querySelectorAll(
            '.modal-ux .auth-btn-wrapper .btn-done, .modal-ux button.logout').length > 0`);
    });
    await click(".modal-ux .close-modal");

    // Try it out: GET /api/v1/orders, sent with the token, answered by the gateway.
    await click("#operations-Orders-listOrders .opblock-summary-control, " +
                ".opblock-get[id$='-listOrders'] .opblock-summary-control");
    await until("Try it out", async () => {
        await click(".opblock.is-open .try-out__btn");
        return true;
    });
    await until("Execute", async () => {
        await click(".opblock.is-open .execute");
        return true;
    });
    const answer = await until("the gateway's answer to Try it out", () => run(`
        const live = document.querySelector(
            '.opblock.is-open .live-responses-table tbody .response-col_status');
        const curl = document.querySelector('.opblock.is-open .curl-command')?.textContent || '';
        return live ? { status: live.textContent.trim(), curl } : null;`));
    if (!answer.status.startsWith("200")) fail(`Try it out got ${answer.status}`);
    if (!answer.curl.includes(`Authorization: Bearer ${token}`))
        fail(`Try it out did not send the bearer token: ${answer.curl}`);
    if (!answer.curl.includes(`${origin}/api/v1/orders`))
        fail(`Try it out did not call the gateway: ${answer.curl}`);
    console.log(`Try it out: GET /api/v1/orders -> ${answer.status}, with the bearer token`);

    // Every file the page loaded came from the gateway.
    const loaded = await run("return performance.getEntriesByType('resource').map(e => e.name)");
    const foreign = loaded.filter((u) => !u.startsWith(origin + "/"));
    if (foreign.length) fail(`the page loaded files from elsewhere: ${foreign.join(", ")}`);
    for (const f of ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/openapi.json"])
        if (!loaded.includes(origin + f)) fail(`the page did not load ${f}: ${loaded.join(", ")}`);
    console.log(`all ${loaded.length} files came from ${origin}`);
}

let code = 0;
try {
    await main();
    console.log("OK: Swagger UI rendered /docs in Chromium");
} catch (e) {
    console.error(`FAIL: ${e.message}`);
    code = 1;
} finally {
    if (session)
        await wd("DELETE", `/session/${session}`)
            .catch((e) => console.error(`closing the browser: ${e.message}`));
    driver.kill("SIGTERM");
}
process.exit(code);
