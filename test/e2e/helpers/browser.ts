// Debian's Chromium driven by playwright-core (never a downloaded browser), with the flags that work as root here.
import { chromium, type Browser } from 'playwright-core'

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}
