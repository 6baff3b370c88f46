// An offline reference of the API, rendered from its OpenAPI document.
import { el } from "./api.js";

const spec = await (await fetch("/api/v1/openapi.json")).json();
document.getElementById("api-intro").textContent = `${spec.info.title} ${spec.info.version}. ${spec.info.description || ""}`;
const root = document.getElementById("endpoints");
for (const [path, ops] of Object.entries(spec.paths)) {
  for (const [method, op] of Object.entries(ops)) {
    const params = (op.parameters || []).map((p) => el("li", {},
      el("code", { text: p.name }), ` (${p.in}${p.required ? ", required" : ""}) ${p.description || p.schema?.description || ""}`));
    const bodyRef = op.requestBody?.content?.["application/json"]?.schema?.$ref;
    if (bodyRef) params.push(el("li", {}, "JSON body: ", el("code", { text: bodyRef.split("/").pop() })));
    root.append(el("div", { class: "endpoint" },
      el("span", { class: "method", text: method.toUpperCase() }), el("code", { text: path }),
      el("div", { text: op.summary || "" }), params.length ? el("ul", { class: "params" }, params) : null));
  }
}
