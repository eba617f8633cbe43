import { createHash } from "crypto";
import { expect, test } from "./fixtures";
import { createDataset, expectHydrated, gotoHydrated, logIn, unique } from "./helpers";
import { verifiedAccount } from "./outbox";

test("watch a training session's log grow live, open its metric chart, download its model", async ({ browser, request }) => {
  const owner = unique("run");
  await verifiedAccount(request, owner, "owner password");
  const page = await browser.newPage();
  await logIn(page, owner, "owner password");
  await createDataset(page, `Runs ${unique("")}`);
  const dataset = new URL(page.url()).pathname.split("/").pop()!;
  await expect(page.getByTestId("no-runs")).toBeVisible();

  // A training client with a read-write key, as examples/train_client.py does it.
  const login = await request.post("/api/v1/auth/token", { data: { username: owner, password: "owner password" } });
  const token = (await login.json()).token;
  const made = await request.post("/api/v1/me/keys", {
    headers: { Authorization: `Bearer ${token}` },
    data: { name: "trainer", scopes: [{ kind: "dataset", dataset_id: dataset, access: "read_write" }] },
  });
  expect(made.status()).toBe(201);
  const key = (await made.json()).secret;
  const client = async (path: string, data: unknown = {}) => {
    const response = await request.post(`/api/v1/datasets/${dataset}${path}`, { headers: { Authorization: `Bearer ${key}` }, data });
    expect(response.ok(), `${path}: ${await response.text()}`).toBe(true);
    return response.json();
  };
  const run = (await client("/runs", { name: "resnet-50", params: { lr: 0.01 } })).id;
  await client(`/runs/${run}/logs`, { lines: ["epoch 1 starting", "epoch 1 loss 0.90"] });
  await client(`/runs/${run}/rounds`, { round: 1, metrics: { loss: 0.9, accuracy: 0.55 } });

  // The dataset lists it as active; its page shows the log so far.
  await page.reload();
  await expect(page.getByTestId("runs-active")).toHaveText("1 active · 1 in all");
  await page.getByTestId("run-row").getByRole("link", { name: "resnet-50" }).click();
  await expect(page.getByTestId("run-name")).toHaveText("resnet-50");
  await expectHydrated(page);
  await expect(page.getByTestId("log")).toContainText("epoch 1 loss 0.90");

  // New lines appear without a reload, while the client keeps going.
  await client(`/runs/${run}/logs`, { lines: ["epoch 2 starting", "epoch 2 loss 0.55"] });
  await expect(page.getByTestId("log")).toContainText("epoch 2 loss 0.55");
  await client(`/runs/${run}/rounds`, { round: 2, metrics: { loss: 0.55, accuracy: 0.71 } });
  await page.getByTestId("log-filter").fill("loss");
  await expect(page.getByTestId("log")).toHaveText("epoch 1 loss 0.90\nepoch 2 loss 0.55");
  // A report redraws the rounds and charts; the filter and the log stay.
  await client(`/runs/${run}/logs`, { lines: ["epoch 3 starting", "epoch 3 loss 0.41"] });
  await client(`/runs/${run}/rounds`, { round: 3, metrics: { loss: 0.41, accuracy: 0.78 } });
  await expect(page.getByTestId("round-row")).toHaveCount(3);
  await expect(page.getByTestId("log")).toHaveText("epoch 1 loss 0.90\nepoch 2 loss 0.55\nepoch 3 loss 0.41");
  await expect(page.getByTestId("log-filter")).toHaveValue("loss");

  // One chart per metric, drawn by Plotly.
  await expect(page.getByTestId("metric-chart")).toHaveCount(2);
  await expect(page.getByTestId("metric-chart").first().locator("svg.main-svg").first()).toBeVisible();

  // A model for round 2: presigned PUT, completion; then downloaded from the page.
  const model = Buffer.from("weights ".repeat(4096));
  const md5 = createHash("md5").update(model).digest("base64");
  const ticket = await client(`/runs/${run}/rounds/3/artifacts`, { name: "model.h5", size: model.length, md5 });
  const put = await request.put(ticket.put.url, { data: model, headers: Object.fromEntries(ticket.put.headers) });
  expect(put.ok()).toBe(true);
  await client(`/uploads/${ticket.upload_id}/complete`);
  await client(`/runs/${run}/end`, { status: "finished" });
  await expect(page.getByTestId("run-status").first()).toHaveText("finished");
  const downloaded = page.waitForEvent("download");
  await page.getByTestId("download-artifact").click();
  const download = await downloaded;
  expect(download.suggestedFilename()).toBe("model.h5");
  const { readFile } = await import("fs/promises");
  expect((await readFile(await download.path())).equals(model)).toBe(true);

  // The charts become a dashboard.
  await page.getByTestId("save-as-dashboard").click();
  await expect(page.getByTestId("dashboard-title")).toHaveText("resnet-50 — metrics");
  await expect(page.getByTestId("dashboard-grid").locator("svg.main-svg").first()).toBeVisible();
});
