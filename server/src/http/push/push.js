// The account page's "Push notifications": turns Web Push on or off for this browser. Plain
// JavaScript, not the page's WebAssembly: it runs on this one server-rendered page only.
(() => {
  "use strict";
  const box = document.getElementById("push");
  if (!box) return;
  const status = document.getElementById("push-status");
  const on = document.getElementById("push-on");
  const off = document.getElementById("push-off");
  const previews = document.getElementById("push-previews");
  const say = (text) => { status.textContent = text; };
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say("This browser cannot receive push notifications.");
    return;
  }
  const bytes = (text) =>
    Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const post = (path, body) =>
    fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  const show = (subscribed) => {
    on.hidden = subscribed;
    off.hidden = !subscribed;
    previews.disabled = subscribed;
  };
  navigator.serviceWorker.register("/sw.js").then(async (registration) => {
    show(Boolean(await registration.pushManager.getSubscription()));
    box.hidden = false;
    on.addEventListener("click", async () => {
      if ((await Notification.requestPermission()) !== "granted") {
        say("Notifications are blocked for this site in the browser's settings.");
        return;
      }
      try {
        const subscription = await registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: bytes(box.dataset.key),
        });
        const keys = subscription.toJSON().keys || {};
        const answer = await post("/push/subscriptions", {
          endpoint: subscription.endpoint,
          p256dh: keys.p256dh,
          auth: keys.auth,
          previews: previews.checked,
        });
        if (!answer.ok) {
          await subscription.unsubscribe();
          say(await answer.text());
          return;
        }
        show(true);
        say("On: this browser is notified when no page of the chat is open.");
      } catch (error) {
        say("The browser could not subscribe: " + error.message);
      }
    });
    off.addEventListener("click", async () => {
      const subscription = await registration.pushManager.getSubscription();
      if (subscription) {
        await post("/push/subscriptions/remove", { endpoint: subscription.endpoint });
        await subscription.unsubscribe();
      }
      show(false);
      say("Off in this browser.");
    });
  }, (error) => say("The browser could not start push notifications: " + error.message));
})();
