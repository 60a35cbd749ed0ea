// The unread total on the app's badge where the browser has one (the Badging API: the icon of
// the chat installed as an app). The page's title carries the total ("(3) #ops · Chat"), and
// this script only follows it: nothing in the page's WebAssembly for a badge most browsers
// never show.
(() => {
  "use strict";
  if (!("setAppBadge" in navigator)) return;
  let shown = -1;
  const follow = () => {
    const total = Number((/^\((\d+)\+?\)/.exec(document.title) || [])[1] || 0);
    if (total === shown) return;
    shown = total;
    const done = total ? navigator.setAppBadge(total) : navigator.clearAppBadge();
    done.catch(() => {});
  };
  new MutationObserver(follow).observe(document.head, {
    subtree: true,
    childList: true,
    characterData: true,
  });
  follow();
})();
