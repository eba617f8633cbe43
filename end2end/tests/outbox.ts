import { expect } from "@playwright/test";
import { promises as fs } from "fs";
import path from "path";

/** Decodes a quoted-printable mail body (soft line breaks, =XX escapes). */
function decodeQuotedPrintable(text: string): string {
  const joined = text.replace(/=\r?\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === "=" && /^[0-9A-F]{2}$/i.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i], "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/**
 * The newest link to `linkPath` mailed to `to`, read from the outbox folder
 * Agora writes mail to when no SMTP server is configured — where a person
 * running the embedded default finds it too.
 */
export async function mailedLink(to: string, linkPath: string): Promise<string> {
  const dataDir = process.env.AGORA_DATA_DIR;
  if (!dataDir) throw new Error("AGORA_DATA_DIR is not set: the suite reads mail from the server's outbox");
  const outbox = path.join(dataDir, "outbox");
  let link: string | undefined;
  await expect
    .poll(
      async () => {
        const names = (await fs.readdir(outbox).catch(() => [] as string[])).filter((n) => n.endsWith(".eml")).sort();
        for (const name of names.reverse()) {
          const mail = decodeQuotedPrintable(await fs.readFile(path.join(outbox, name), "utf8"));
          if (!mail.includes(`To: ${to}`)) continue;
          const match = mail.match(new RegExp(`https?://[^\\s]+${linkPath}\\?token=[A-Za-z0-9._-]+`));
          if (match) {
            link = match[0];
            return true;
          }
        }
        return false;
      },
      { message: `a mail to ${to} with a ${linkPath} link` },
    )
    .toBe(true);
  return link!;
}

/** Registers through the REST API and opens the mailed link: a verified account. */
export async function verifiedAccount(request: import("@playwright/test").APIRequestContext, name: string, password: string) {
  const email = `${name}@example.com`;
  const registered = await request.post("/api/v1/auth/register", { data: { username: name, email, password } });
  expect(registered.status()).toBe(201);
  const token = new URL(await mailedLink(email, "/verify-email")).searchParams.get("token");
  const verified = await request.post("/api/v1/auth/verify-email", { data: { token } });
  expect(verified.status()).toBe(200);
  return email;
}
