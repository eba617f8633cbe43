import { createHash, createHmac } from "crypto";
import { promises as fs } from "fs";
import os from "os";
import path from "path";
import { expect, test } from "../tests/fixtures";
import { createDataset, logIn, unique } from "../tests/helpers";
import { verifiedAccount } from "../tests/outbox";

// Issue 17's figure: what checksums cost a browser upload. In one run:
//   (a) a 48 MiB file (one PUT): Agora's page hashes it whole before sending
//       — the browser's MD5 throughput;
//   (b) a large file (AGORA_BENCH_UPLOAD_MIB, default 1024) through the page:
//       8 MiB parts, each hashed while the ones before it are sent, 4 in flight;
//   (c) the same bytes in the same 8 MiB pieces, 4 in flight, PUT from the
//       same page to URLs this bench presigns without any checksum.
// Goal: checksums cost at most 10 % of the upload's throughput. (b) also
// spends a URL request per part and the completion, which (c) does not.

const MIB = 1024 * 1024;
const PART = 8 * MIB;

async function writeFile(file: string, mib: number) {
  const handle = await fs.open(file, "w");
  const chunk = Buffer.alloc(MIB);
  for (let i = 0; i < mib; i++) {
    for (let j = 0; j < MIB; j += 4) chunk.writeUInt32LE((i * 2654435761 + j) >>> 0, j);
    await handle.write(chunk);
  }
  await handle.close();
}

/** A SigV4 query-presigned PUT URL for the embedded endpoint, signing only `host`. */
function presignPut(endpoint: string, keyId: string, secret: string, objectPath: string): string {
  const now = new Date();
  const amzDate = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const scope = `${day}/us-east-1/s3/aws4_request`;
  const host = new URL(endpoint).host;
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const query: [string, string][] = [
    ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
    ["X-Amz-Credential", `${keyId}/${scope}`],
    ["X-Amz-Date", amzDate],
    ["X-Amz-Expires", "3600"],
    ["X-Amz-SignedHeaders", "host"],
  ];
  const canonicalQuery = query.map(([k, v]) => `${enc(k)}=${enc(v)}`).sort().join("&");
  const canonical = ["PUT", objectPath, canonicalQuery, `host:${host}\n`, "host", "UNSIGNED-PAYLOAD"].join("\n");
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, createHash("sha256").update(canonical).digest("hex")].join("\n");
  const key = [day, "us-east-1", "s3", "aws4_request"].reduce<Buffer | string>((k, part) => createHmac("sha256", k).update(part).digest(), `AWS4${secret}`);
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  return `${endpoint}${objectPath}?${canonicalQuery}&X-Amz-Signature=${signature}`;
}

test("what checksums cost a browser upload", async ({ browser, request }) => {
  const mib = Number(process.env.AGORA_BENCH_UPLOAD_MIB ?? 1024);
  const dataDir = process.env.AGORA_DATA_DIR!;
  const endpoint = `http://${process.env.AGORA_S3_ADDR}`;
  const keys = JSON.parse(await fs.readFile(path.join(dataDir, "s3/credentials.json"), "utf8"));
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "agora-bench-"));
  const small = path.join(dir, "table.bin");
  const large = path.join(dir, "model.bin");
  await writeFile(small, 48);
  await writeFile(large, mib);

  const owner = unique("bench");
  await verifiedAccount(request, owner, "bench password");
  const page = await browser.newPage();
  await logIn(page, owner, "bench password");
  await createDataset(page, `Bench ${unique("")}`);

  const upload = async (file: string) => {
    await page.getByTestId("upload-input").setInputFiles([file]);
    const row = page.locator(`[data-testid=upload-row][data-name='${path.basename(file)}'][data-state=done]`);
    await expect(row).toHaveCount(1, { timeout: 30 * 60_000 });
    return { took: Number(await row.getAttribute("data-took-ms")), hashed: Number(await row.getAttribute("data-hash-ms")) };
  };
  const a = await upload(small);
  const b = await upload(large);

  // (c): the same file, read by the same page, sent without checksums.
  await page.evaluate(() => {
    const input = document.createElement("input");
    input.type = "file";
    input.id = "bench-raw";
    input.style.display = "none";
    document.body.append(input);
  });
  await page.locator("#bench-raw").setInputFiles([large]);
  const pieces = Math.ceil((mib * MIB) / PART);
  const urls = Array.from({ length: pieces }, (_, n) => presignPut(endpoint, keys.access_key_id, keys.secret_access_key, `/agora/bench/raw/${n}`));
  const rawMs = await page.evaluate(
    async ({ urls, part }) => {
      const file = (document.getElementById("bench-raw") as HTMLInputElement).files![0];
      const put = (url: string, body: Blob) =>
        new Promise<void>((resolve, reject) => {
          const xhr = new XMLHttpRequest();
          xhr.open("PUT", url);
          xhr.onload = () => (xhr.status < 300 ? resolve() : reject(new Error(`HTTP ${xhr.status}: ${xhr.responseText}`)));
          xhr.onerror = () => reject(new Error("network error"));
          xhr.send(body);
        });
      const started = performance.now();
      let next = 0;
      const worker = async () => {
        while (next < urls.length) {
          const n = next++;
          await put(urls[n], file.slice(n * part, Math.min(file.size, (n + 1) * part)));
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      return performance.now() - started;
    },
    { urls, part: PART },
  );

  const rate = (bytesMib: number, ms: number) => bytesMib / (ms / 1000);
  console.log(`browser hashing (MD5 in WASM, ${48} MiB file hashed whole before its PUT): ${rate(48, a.hashed).toFixed(0)} MiB/s`);
  console.log(
    `${mib} MiB through Agora's page (8 MiB parts, 4 in flight, each part's MD5 declared): ${rate(mib, b.took).toFixed(0)} MiB/s ` +
      `(${(b.took / 1000).toFixed(1)} s, of which hashing ${(b.hashed / 1000).toFixed(1)} s on the page's thread)`,
  );
  console.log(`the same bytes, same pieces, no checksums (same run): ${rate(mib, rawMs).toFixed(0)} MiB/s (${(rawMs / 1000).toFixed(1)} s)`);
  // The page's flow also asks for each part's URL and completes the upload;
  // its hashing time is what the checksums themselves take.
  console.log(
    `the page's upload reaches ${(100 * (rawMs / b.took)).toFixed(1)} % of the raw rate; ` +
      `its checksums took ${(100 * (b.hashed / b.took)).toFixed(1)} % of its time (goal: checksums cost ≤ 10 %)`,
  );
  await fs.rm(dir, { recursive: true, force: true });
});
