import { expect, test as base } from "@playwright/test";

export { expect };
export type { Page } from "@playwright/test";

/**
 * Every test's page is watched for Content-Security-Policy violations: the
 * pages must hydrate, upload, plot and navigate under the policy Agora
 * sends, so any violation (Chromium logs it, and the page reports it as a
 * `securitypolicyviolation` event) fails the test that caused it.
 */
export const test = base.extend<{ cspGuard: void }>({
  cspGuard: [
    async ({ page }, use) => {
      const violations: string[] = [];
      page.on("console", (message) => {
        if (/Content.Security.Policy/i.test(message.text())) violations.push(message.text());
      });
      await page.addInitScript(() => {
        document.addEventListener("securitypolicyviolation", (event) => {
          console.error(`Content Security Policy violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
        });
      });
      await use();
      expect(violations, "no page broke its Content-Security-Policy").toEqual([]);
    },
    { auto: true },
  ],
});
