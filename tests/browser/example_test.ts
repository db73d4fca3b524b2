/**
 * The example page (examples/browser/) rendered in headless Chromium against its own feed server
 * (examples/browser/serve.ts): the feed's lines appear through RomWebSocket (only those its Regex
 * keeps), the badge says Open, and the screenshot (saved as .build/browser-example.png) shows the
 * badge's green and the feed's lines in its pixels.
 */

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { type ExampleServer, startExampleServer } from "../../examples/browser/serve.ts";
import { launchChromium, pageLog } from "../_util/chromium.ts";
import { OPEN } from "../_util/rom_contract.ts";

const SHOT = ".build/browser-example.png";
/** The badge's background once open (#2e7d32 in index.html). */
const GREEN = [0x2e, 0x7d, 0x32];

describe("the browser example page", () => {
  let example: ExampleServer;
  let browser: Browser;
  let page: Page;
  let log: string[];

  before(async () => {
    example = await startExampleServer({ intervalMs: 150, dir: "examples/browser" });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 900, height: 600 } });
    log = pageLog(page);
  });

  after(async () => {
    await browser?.close();
    await example?.close();
  });

  it(
    "shows the feed through RomWebSocket, filtered by its Regex",
    { timeout: 20_000 },
    async () => {
      await page.goto(example.url);
      await page.waitForFunction(
        () => document.querySelectorAll("#feed li.message").length >= 4,
        undefined,
        { timeout: 10_000 },
      ).catch((error) => {
        throw new Error(`${error}\npage log:\n${log.join("\n")}`);
      });
      assert.equal(await page.textContent("#status"), "Open");
      const connection = await page.$$eval(
        "#feed li.connection",
        (l) => l.map((e) => e.textContent),
      );
      assert.equal(connection[0], `${OPEN.event} ${OPEN.data}`, "the Open event, byte for byte");
      const messages = await page.$$eval("#feed li.message", (l) => l.map((e) => e.textContent!));
      const types = messages.map((m) => JSON.parse(m).type);
      assert.ok(types.includes("StasisStart") && types.includes("ChannelStateChange"), `${types}`);
      assert.ok(!types.includes("ChannelDtmfReceived"), `the Regex keeps DTMF out: ${types}`);
    },
  );

  it("renders it: the screenshot has the badge's green and the feed's lines", async () => {
    const png = await page.screenshot({ fullPage: false });
    mkdirSync(".build", { recursive: true });
    writeFileSync(SHOT, png);
    const box = (await page.locator("#status").boundingBox())!;
    const feedBox = (await page.locator("#feed").boundingBox())!;
    // The pixels of the screenshot itself, decoded by the browser into a canvas.
    const counts = await page.evaluate(async ({ data, green, badge, list }) => {
      const image = new Image();
      image.src = `data:image/png;base64,${data}`;
      await image.decode();
      const canvas = document.createElement("canvas");
      canvas.width = image.width;
      canvas.height = image.height;
      const context = canvas.getContext("2d")!;
      context.drawImage(image, 0, 0);
      const count = (
        r: { x: number; y: number; width: number; height: number },
        test: (p: Uint8ClampedArray, i: number) => boolean,
      ) => {
        const pixels =
          context.getImageData(r.x, r.y, Math.max(1, r.width), Math.max(1, r.height)).data;
        let n = 0;
        for (let i = 0; i < pixels.length; i += 4) if (test(pixels, i)) n++;
        return n;
      };
      return {
        width: image.width,
        green: count(
          badge,
          (p, i) =>
            Math.abs(p[i] - green[0]) < 8 && Math.abs(p[i + 1] - green[1]) < 8 &&
            Math.abs(p[i + 2] - green[2]) < 8,
        ),
        badge: badge.width * badge.height,
        ink: count(list, (p, i) => p[i] < 120 && p[i + 1] < 120 && p[i + 2] < 120),
      };
    }, {
      data: png.toString("base64"),
      green: GREEN,
      badge: {
        x: Math.ceil(box.x),
        y: Math.ceil(box.y),
        width: Math.floor(box.width),
        height: Math.floor(box.height),
      },
      list: {
        x: Math.ceil(feedBox.x),
        y: Math.ceil(feedBox.y),
        width: Math.floor(feedBox.width),
        height: Math.min(300, Math.floor(feedBox.height)),
      },
    });
    assert.equal(counts.width, 900, "the screenshot is of the viewport");
    assert.ok(counts.green > counts.badge / 3, `the badge is green: ${JSON.stringify(counts)}`);
    assert.ok(counts.ink > 500, `the feed's lines are drawn: ${JSON.stringify(counts)}`);
  });
});
