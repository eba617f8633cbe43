import { BrowserContext, expect, test as base } from "@playwright/test";

export { expect };
export type { Page } from "@playwright/test";

/**
 * Every page a test opens (its `page`, and pages from `browser.newPage()`
 * or `browser.newContext()`) is watched for Content-Security-Policy
 * violations: the pages must hydrate, upload, plot and navigate under the
 * policy Agora sends, so any violation (Chromium logs it, and the page
 * reports it as a `securitypolicyviolation` event) fails the test.
 */
export const test = base.extend<{ cspGuard: void }>({
  cspGuard: [
    async ({ context, browser }, use) => {
      const violations: string[] = [];
      const watch = async (watched: BrowserContext) => {
        watched.on("console", (message) => {
          if (/Content.Security.Policy/i.test(message.text())) violations.push(message.text());
        });
        await watched.addInitScript(() => {
          document.addEventListener("securitypolicyviolation", (event) => {
            console.error(`Content Security Policy violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
          });
        });
      };
      await watch(context);
      const [newContext, newPage] = [browser.newContext, browser.newPage];
      browser.newContext = async (options) => {
        const made = await newContext.call(browser, options);
        await watch(made);
        return made;
      };
      browser.newPage = async (options) => {
        const page = await newPage.call(browser, options);
        await watch(page.context());
        return page;
      };
      try {
        await use();
      } finally {
        browser.newContext = newContext;
        browser.newPage = newPage;
      }
      expect(violations, "no page broke its Content-Security-Policy").toEqual([]);
    },
    { auto: true },
  ],
});
