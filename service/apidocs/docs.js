// Renders /openapi.json without any CDN or framework: endpoints, parameters, responses, schemas.
// Everything from the document is put in the page as text (textContent), never as HTML.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function refName(ref) { return ref.split("/").pop(); }

function schemaSummary(schema) {
  if (!schema) return "";
  if (schema.$ref) return refName(schema.$ref);
  if (schema.oneOf) return schema.oneOf.map(schemaSummary).join(" | ");
  if (schema.type === "array") return `array of ${schemaSummary(schema.items)}`;
  return schema.type || "object";
}

function renderOperation(path, method, op, shared) {
  const params = [...(shared || []), ...(op.parameters || [])];
  const body = el("div", {});
  if (op.description) body.append(el("p", {}, op.description));
  if (params.length) {
    const table = el("table", {}, el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"), el("th", {}, "about")));
    for (const p of params) table.append(el("tr", {}, el("td", {}, el("code", {}, p.name)), el("td", {}, p.in),
                                            el("td", {}, p.description || schemaSummary(p.schema))));
    body.append(table);
  }
  const request = op.requestBody && op.requestBody.content["application/json"];
  if (request) body.append(el("p", {}, "Body: ", el("code", {}, schemaSummary(request.schema))));
  const responses = el("ul", {});
  for (const [status, response] of Object.entries(op.responses || {})) {
    const json = response.content && response.content["application/json"];
    responses.append(el("li", {}, el("code", {}, status), ` ${response.description || ""}`,
                        json ? el("code", {}, `  ${schemaSummary(json.schema)}`) : ""));
  }
  body.append(el("p", {}, "Responses:"), responses);
  return el("details", {}, el("summary", {}, el("span", {class: `method ${method}`}, method), " ",
                              el("code", {}, path), ` — ${op.summary || ""}`), body);
}

async function main() {
  const doc = await (await fetch("/openapi.json")).json();
  document.getElementById("summary").textContent = `${doc.info.title} ${doc.info.version}: ${doc.info.description}`;
  const paths = document.getElementById("paths");
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ["get", "post", "delete"]) {
      if (item[method]) paths.append(renderOperation(path, method, item[method], item.parameters));
    }
  }
  const schemas = document.getElementById("schemas");
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    schemas.append(el("details", {}, el("summary", {}, el("code", {}, name)),
                      el("pre", {}, JSON.stringify(schema, null, 2))));
  }
}

main().catch((error) => { document.getElementById("summary").textContent = `Could not read the API: ${error}`; });
