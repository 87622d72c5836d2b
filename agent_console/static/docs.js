// The API viewer: swagger-ui, served from this server (static/vendor/swagger-ui), never a CDN.
"use strict";
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui" });
