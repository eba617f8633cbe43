import { expect, test } from "./fixtures";
import { createDataset, expectHydrated, gotoHydrated, logIn, unique } from "./helpers";
import { verifiedAccount } from "./outbox";

const lossFigure = {
  data: [{ type: "scatter", mode: "lines+markers", name: "loss", x: [1, 2, 3], y: [0.9, 0.5, 0.3] }],
  layout: { title: { text: "Validation loss" } },
};

test("create a dashboard with a Plotly figure and markdown, reload, share it by link and open it logged out", async ({ browser, request }) => {
  const owner = unique("dash");
  await verifiedAccount(request, owner, "owner password");
  const page = await browser.newPage();
  await logIn(page, owner, "owner password");
  const title = `Week 47 ${unique("")}`;

  await gotoHydrated(page, "/dashboards");
  await expect(page.getByText("No dashboards yet")).toBeVisible();
  await page.getByTestId("new-dashboard-open").click();
  await page.getByLabel("Title").fill(title);
  await page.getByTestId("create-dashboard").click();
  await expect(page.getByTestId("dashboard-editor")).toBeVisible();

  // A figure: broken JSON is explained inline, a pasted figure is drawn in the preview.
  await page.getByTestId("add-figure").click();
  const draft = page.getByTestId("panel-draft").first();
  await draft.getByTestId("panel-title").fill("Loss");
  await draft.getByTestId("figure-json").fill('{"data": [');
  await expect(draft.getByTestId("figure-error")).toContainText("not valid JSON (line 1");
  await draft.getByTestId("figure-json").fill('{"layout": {}}');
  await expect(draft.getByTestId("figure-error")).toContainText('"data"');
  await draft.getByTestId("figure-json").fill(JSON.stringify(lossFigure));
  await expect(draft.getByTestId("figure-error")).toHaveCount(0);
  await expect(draft.locator("[data-testid=figure-preview] .plot svg.main-svg").first()).toBeVisible();

  // A markdown panel, previewed as rendered (and sanitised) by the server.
  await page.getByTestId("add-markdown").click();
  const note = page.getByTestId("panel-draft").nth(1);
  await note.getByTestId("markdown-text").fill("## Notes\n\nLoss **fell** after augmentation.<script>alert(1)</script>");
  await expect(note.getByTestId("markdown-preview").locator("strong")).toHaveText("fell");
  // Reorder: the figure moves below the note and back; the last panel cannot move down.
  await draft.getByRole("button", { name: "Move down" }).click();
  await expect(page.getByTestId("panel-draft").first()).toContainText("Markdown");
  await expect(page.getByTestId("panel-draft").nth(1).getByRole("button", { name: "Move down" })).toBeDisabled();
  await page.getByTestId("panel-draft").nth(1).getByRole("button", { name: "Move up" }).click();
  await expect(page.getByTestId("panel-draft").first()).toContainText("Plotly figure");
  await expect(draft.getByTestId("figure-json")).toHaveValue(JSON.stringify(lossFigure));
  await page.getByTestId("save-dashboard").click();

  const grid = page.getByTestId("dashboard-grid");
  await expect(grid.locator(".plot svg.main-svg").first()).toBeVisible();
  await expect(grid.getByTestId("markdown").locator("h2")).toHaveText("Notes");
  await expect(grid.getByTestId("markdown").locator("script")).toHaveCount(0);

  // After a reload both are still there, drawn from the stored dashboard.
  await page.reload();
  await expectHydrated(page);
  await expect(page.getByTestId("dashboard-title")).toHaveText(title);
  await expect(page.getByTestId("dashboard-grid").locator(".plot svg.main-svg").first()).toBeVisible();
  await expect(page.getByTestId("dashboard-grid").getByTestId("markdown")).toContainText("Loss fell after augmentation.");

  // The figure's data downloads as CSV.
  const downloaded = page.waitForEvent("download");
  await page.getByTestId("panel").first().getByTestId("download-csv").click();
  const download = await downloaded;
  expect(download.suggestedFilename()).toBe("Loss.csv");
  const { readFile } = await import("fs/promises");
  expect((await readFile(await download.path())).toString()).toBe("trace,x,y\nloss,1,0.9\nloss,2,0.5\nloss,3,0.3\n");

  // Share by link; a logged-out visitor sees it read-only.
  await page.getByTestId("share-link").check();
  const link = page.getByTestId("dashboard-link");
  await expect(link).toHaveValue(/\/dashboards\/[0-9a-f]{16}$/);
  const url = await link.inputValue();
  const stranger = await browser.newContext();
  const visitor = await stranger.newPage();
  await visitor.goto(url);
  await expectHydrated(visitor);
  await expect(visitor.getByTestId("dashboard-title")).toHaveText(title);
  await expect(visitor.getByTestId("dashboard-grid").locator(".plot svg.main-svg").first()).toBeVisible();
  await expect(visitor.getByTestId("markdown")).toContainText("Loss fell");
  await expect(visitor.getByTestId("edit-dashboard")).toHaveCount(0);
  await stranger.close();

  // Switching the link off makes it private again.
  await page.getByTestId("share-link").uncheck();
  await expect(page.getByTestId("dashboard-link")).toHaveCount(0);
  const again = await browser.newContext();
  const refused = await again.newPage();
  const response = await refused.goto(url);
  expect(response?.status()).toBe(404);
  await again.close();
});

test("a dataset statistic panel stays live and the list warns of nothing on a roomy hub", async ({ browser, request }) => {
  const owner = unique("stat");
  await verifiedAccount(request, owner, "owner password");
  const page = await browser.newPage();
  await logIn(page, owner, "owner password");
  const dataset = `Stats ${unique("")}`;
  await createDataset(page, dataset);
  await page.getByTestId("upload-input").setInputFiles([
    { name: "a.txt", mimeType: "text/plain", buffer: Buffer.from("a".repeat(3000)) },
    { name: "b.txt", mimeType: "text/plain", buffer: Buffer.from("b") },
  ]);
  await expect(page.locator("[data-testid=upload-row][data-state=done]")).toHaveCount(2);

  await gotoHydrated(page, "/dashboards");
  await page.getByTestId("new-dashboard-open").click();
  await page.getByLabel("Title").fill(`Sizes ${unique("")}`);
  await page.getByTestId("create-dashboard").click();
  await page.getByTestId("add-stat").click();
  await page.getByTestId("stat-dataset").selectOption({ label: dataset });
  await page.getByTestId("stat-kind").selectOption("size_histogram");
  await page.getByTestId("save-dashboard").click();
  const plot = page.getByTestId("dashboard-grid").locator(".plot");
  await expect(plot.locator("svg.main-svg").first()).toBeVisible();
  // Two size classes: < 1 KiB and 2–4 KiB.
  await expect(plot.locator(".xtick")).toHaveCount(3);
  await gotoHydrated(page, "/dashboards");
  await expect(page.getByTestId("dashboard-row")).toHaveCount(1);
  await expect(page.getByTestId("badge-at-risk")).toHaveCount(0);
});

test("plotly strings and markdown are data: the known XSS vectors run no script", async ({ page, request }) => {
  const owner = unique("xss");
  await verifiedAccount(request, owner, "owner password");
  const token = (await (await request.post("/api/v1/auth/token", { data: { username: owner, password: "owner password" } })).json()).token;
  // Vectors plotly renders as (pseudo-)HTML: titles, axis titles, trace
  // names, hover templates, annotations, and links in any of them.
  const vectors = [
    `<img src=x onerror="window.__xss='img'">`,
    `<a href="javascript:window.__xss='link'">click</a>`,
    `<svg onload="window.__xss='svg'">`,
    `<script>window.__xss='script'</script>`,
    `<a href="jAvAsCrIpT:window.__xss='case'" target="_self">x</a>`,
    `<b onmouseover="window.__xss='hover'">bold</b>`,
    `<iframe src="javascript:window.parent.__xss='frame'"></iframe>`,
  ];
  const text = vectors.join(" ");
  const figure = {
    data: [{ type: "bar", name: text, x: ["a", "b"], y: [1, 2], hovertemplate: `${text}<extra>${text}</extra>`, text: [text, text] }],
    layout: {
      title: { text },
      xaxis: { title: { text } },
      annotations: [{ text, x: "a", y: 1, showarrow: true }],
    },
  };
  const markdown = [
    `[x](javascript:window.__xss='md-link')`,
    `<a href="data:text/html,<script>window.__xss=1</script>">data</a>`,
    `<img src=x onerror="window.__xss='md-img'">`,
    `<div style="background:url(javascript:window.__xss='css')">css</div>`,
    `<math><mtext><table><mglyph><style><img src=x onerror="window.__xss='mxss'">`,
    `![x](x" onerror="window.__xss='alt')`,
  ].join("\n\n");
  const created = await request.post("/api/v1/dashboards", {
    headers: { authorization: `Bearer ${token}` },
    data: {
      title: `XSS ${unique("")}`,
      panels: [
        { title: vectors[0], x: 0, y: 0, w: 12, h: 4, kind: "figure", figure },
        { title: "notes", x: 0, y: 4, w: 12, h: 4, kind: "markdown", text: markdown },
      ],
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  const id = (await created.json()).id;

  await logIn(page, owner, "owner password");
  await gotoHydrated(page, `/dashboards/${id}`);
  const grid = page.getByTestId("dashboard-grid");
  await expect(grid.locator(".plot svg.main-svg").first()).toBeVisible();
  // Hover the bars (hover labels render the templates): nothing runs.
  for (const bar of await grid.locator(".plot .point").all()) await bar.hover({ force: true });
  const hrefs = await grid.locator("a[href]").evaluateAll((links) => links.map((a) => a.getAttribute("href") ?? ""));
  expect(hrefs.filter((href) => /^\s*(javascript|data|vbscript):/i.test(href)), "no script or data link survives").toEqual([]);
  await expect(grid.getByTestId("markdown").locator("script, iframe, math, [onerror], [onload], [style*=javascript]")).toHaveCount(0);
  await expect(grid.locator(".plot [onerror], .plot [onload], .plot [onmouseover], .plot script, .plot iframe")).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { __xss?: string }).__xss)).toBeUndefined();
});
