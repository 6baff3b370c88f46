// Small helpers shared by the views: JSON requests with readable errors, time formatting, element building.

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

export async function request(path, options = {}) {
  const init = { ...options, headers: { ...(options.headers || {}) } };
  if (options.json !== undefined) {
    init.body = JSON.stringify(options.json);
    init.headers["content-type"] = "application/json";
  }
  const res = await fetch(API + path, init);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.code || "http_error", err.message || `HTTP ${res.status}`);
  }
  return data;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) node.append(child);
  }
  return node;
}

// Timecode (non-drop label) of seconds at fps, for values not yet saved; saved ones come from the server.
export function timecode(seconds, fps) {
  const nominal = Math.round(fps);
  const frame = Math.round(seconds * fps);
  const ff = frame % nominal, total = Math.floor(frame / nominal);
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor(total / 60) % 60)}:${pad(total % 60)}:${pad(ff)}`;
}

export const COLOURS = {
  RED: "#e5484d", PINK: "#f381c4", ORANGE: "#f0883e", YELLOW: "#e2b93b", GREEN: "#46a758", CYAN: "#3ec1d3",
  BLUE: "#3e7bfa", PURPLE: "#8e4ec6", MAGENTA: "#d23fd2", BLACK: "#444", WHITE: "#eee",
};

export const colourOf = (name) => COLOURS[(name || "").toUpperCase()] || COLOURS.YELLOW;
