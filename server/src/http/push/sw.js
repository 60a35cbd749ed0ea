// The chat's service worker: shows pushes and opens their room on a click. Nothing else: it
// caches nothing and sees no request.
"use strict";
self.addEventListener("push", (event) => {
  let push = {};
  try {
    push = event.data ? event.data.json() : {};
  } catch (_) {
    push = {};
  }
  const url = typeof push.url === "string" && push.url.startsWith("/") ? push.url : "/";
  event.waitUntil(
    self.registration.showNotification(push.title || "Chat", {
      body: push.body || "",
      tag: push.tag || "chat",
      data: { url },
    }),
  );
});
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data.url, self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((open) => {
      const same = open.find((client) => client.url === url && "focus" in client);
      return same ? same.focus() : self.clients.openWindow(url);
    }),
  );
});
