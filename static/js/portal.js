// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Styles that only make sense with this script (the collapsed navigation) key on this class.
  document.documentElement.classList.add("js");

  // Copy buttons: <button data-copy="text">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var text = button.getAttribute("data-copy");
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      button.setAttribute("aria-live", "polite");
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "offscreen";
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
      done();
    }
  });

  // Going back twice quickly: htmx fetches each page it returns to, and an earlier answer
  // arriving last would show another page's filters under the address. Only the latest lands.
  var restoring = null;
  document.addEventListener("htmx:historyCacheMiss", function (event) {
    if (restoring) restoring.abort();
    restoring = event.detail.xhr;
  });

  // Close an open "..." menu when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.row-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.row-menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
  });

  // Phones: the navigation collapses behind the "Menu" button.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".nav-toggle");
    if (!toggle) return;
    var sidebar = toggle.closest(".sidebar");
    var open = sidebar.classList.toggle("nav-open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      var current = sidebar.querySelector("nav a[aria-current]") || sidebar.querySelector("nav a");
      if (current) current.focus();
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var sidebar = document.querySelector(".sidebar.nav-open");
    if (!sidebar) return;
    sidebar.classList.remove("nav-open");
    var toggle = sidebar.querySelector(".nav-toggle");
    toggle.setAttribute("aria-expanded", "false");
    toggle.focus();
  });

  // An open "..." menu sits next to its button, above the table's own scroll box, so that it
  // is never cut off and never covers the row it belongs to. (Position through the CSSOM,
  // which the strict Content-Security-Policy allows; no style attribute is written.)
  function place(menu) {
    var items = menu.querySelector(".row-menu-items");
    if (!items) return;
    var button = menu.querySelector("summary").getBoundingClientRect();
    items.classList.add("is-placed");
    var width = items.offsetWidth, height = items.offsetHeight;
    var left = Math.max(8, Math.min(button.right - width, window.innerWidth - width - 8));
    var top = button.bottom + 4;
    if (top + height > window.innerHeight - 8 && button.top - height - 4 > 8) {
      top = button.top - height - 4;
    }
    items.style.left = left + "px";
    items.style.top = top + "px";
  }
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (menu.matches && menu.matches("details.row-menu") && menu.open) place(menu);
  }, true);
  function replaceOpenMenus() {
    document.querySelectorAll("details.row-menu[open]").forEach(place);
  }
  window.addEventListener("resize", replaceOpenMenus);
  document.addEventListener("scroll", replaceOpenMenus, true);

  // Keyboard: after an htmx swap, focus goes to what was focused (found again by id or link),
  // else the new region's first field, else its heading; never left on <body>.
  var FIELDS = "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])";
  function visible(element) {
    return !!(element.offsetWidth || element.offsetHeight || element.getClientRects().length);
  }
  function firstField(root) {
    return Array.prototype.find.call(root.querySelectorAll(FIELDS), visible) || null;
  }
  function label(element) {
    return element.textContent.replace(/[▲▼]/g, "").trim();  // without the sort marks
  }
  var lastFocus = null;
  document.addEventListener("htmx:beforeSwap", function () {
    var active = document.activeElement;
    lastFocus = active && active !== document.body
      ? { id: active.id, href: active.getAttribute("href"), tag: active.tagName,
          text: label(active) }
      : null;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    var target = event.detail.target;
    var region = target && target.id ? document.getElementById(target.id) : target;
    if (!region || !region.isConnected) region = document.getElementById("main");
    var found = null;
    if (lastFocus && lastFocus.id) found = document.getElementById(lastFocus.id);
    if (!found && lastFocus && lastFocus.href) {
      // The same link, or the link in the same place (a sort link changes its address).
      var links = region.querySelectorAll(lastFocus.tag + "[href]");
      found = Array.prototype.find.call(links, function (link) {
        return link.getAttribute("href") === lastFocus.href;
      }) || Array.prototype.find.call(links, function (link) {
        return label(link) === lastFocus.text;
      });
    }
    found = found || firstField(region) || region.querySelector("h1, h2, h3") || region;
    if (!found.matches("a[href], button, " + FIELDS)) found.setAttribute("tabindex", "-1");
    found.focus();
  });

  // Add and edit forms: the first field has focus on load (never a filter form, never in a
  // table's rows). A form can ask for it with data-autofocus.
  function autofocus() {
    var active = document.activeElement;
    if (window.location.hash || (active && active !== document.body)) return;
    if (document.querySelector("[autofocus]")) return;
    var forms = document.querySelectorAll("main form[data-autofocus], main form[method=post]");
    for (var i = 0; i < forms.length; i++) {
      var form = forms[i];
      if (form.matches(".filters, [role=search]") || form.closest("table, details")) continue;
      // A form sent back with errors: its first invalid field, else its first field.
      var invalid = form.querySelector("[aria-invalid=true]");
      var field = invalid && visible(invalid) ? invalid : firstField(form);
      if (field) { field.focus(); return; }
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", autofocus);
  } else {
    autofocus();
  }
})();
