"use strict";
/** The review server's /api/v1 through fetch (UXP and Node 18+ both have it). */

const DEFAULT_URL = "http://127.0.0.1:8765";

class PanelError extends Error {}

class Client {
  constructor(url = DEFAULT_URL, token = "") {
    this.url = String(url || DEFAULT_URL).replace(/\/+$/, "");
    this.token = token || "";
  }

  async call(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let response;
    try {
      response = await fetch(`${this.url}/api/v1${path}`, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new PanelError(`The cogvlm-media review server is not running at ${this.url}. Start it with `
        + "`cogvlm-media serve` and try again.");
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (err) { data = null; }
    if (!response.ok) {
      const message = data && data.error ? data.error.message : `${response.status} ${response.statusText}`;
      throw new PanelError(`The review server said: ${message}`);
    }
    return data;
  }

  health() { return this.call("GET", "/health"); }
  config() { return this.call("GET", "/nle/config"); }
  async match(items) {
    const out = [];
    for (let i = 0; i < items.length; i += 200) {
      out.push(...(await this.call("POST", "/nle/match", { items: items.slice(i, i + 200) })).items);
    }
    return out;
  }
  marks(assetId) { return this.call("GET", `/nle/assets/${Number(assetId)}/marks`); }
  async links(container) {
    const q = new URLSearchParams({ nle: "premiere", container });
    return (await this.call("GET", `/nle/links?${q}`)).links;
  }
  putLinks(container, links) { return this.call("PUT", "/nle/links", { nle: "premiere", container, links }); }
  sync(container, items, present = null) {
    const body = { nle: "premiere", container, items };
    if (present !== null) body.present = present;
    return this.call("POST", "/nle/sync", body);
  }
  search(q) { return this.call("GET", `/search?${new URLSearchParams({ q, limit: "50" })}`); }
}

module.exports = { Client, PanelError, DEFAULT_URL };
