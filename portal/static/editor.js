// The article editor's helpers (progressive: without scripts the form works as a plain HTML
// text area and uploads are unavailable). Toolbar buttons wrap the selection in the allowed
// tags; files are uploaded with the form's token and attached to the article when it is saved.
(function () {
  "use strict";
  var form = document.getElementById("editor-form");
  if (!form) { return; }
  var body = document.getElementById("f-body");
  var toolbar = form.querySelector("[data-editor-toolbar]");
  var wraps = {
    h2: ["<h2>", "</h2>"],
    bold: ["<strong>", "</strong>"],
    italic: ["<em>", "</em>"],
    insertUnorderedList: ["<ul>\n<li>", "</li>\n</ul>"]
  };
  function insert(before, after) {
    var s = body.selectionStart, e = body.selectionEnd, v = body.value;
    body.value = v.slice(0, s) + before + v.slice(s, e) + after + v.slice(e);
    body.focus();
    body.selectionStart = s + before.length;
    body.selectionEnd = e + before.length;
  }
  if (toolbar && body) {
    toolbar.hidden = false;
    toolbar.addEventListener("click", function (ev) {
      var cmd = ev.target.getAttribute("data-cmd");
      if (!cmd) { return; }
      if (cmd === "link") {
        var url = window.prompt("链接地址（https:// 开头）", "https://");
        if (url && /^(https?:\/\/|\/)/.test(url)) { insert('<a href="' + url.replace(/"/g, "") + '">', "</a>"); }
        return;
      }
      var w = wraps[cmd];
      if (w) { insert(w[0], w[1]); }
    });
  }
  var list = document.getElementById("file-list");
  form.addEventListener("click", function (ev) {
    var href = ev.target.getAttribute("data-insert-image");
    if (href && body) { insert('<p><img src="' + href + '" alt=""></p>', ""); }
  });
  var input = form.querySelector("[data-upload]");
  var error = document.getElementById("e-file");
  if (!input) { return; }
  input.addEventListener("change", function () {
    if (!input.files || !input.files[0]) { return; }
    var data = new FormData();
    data.append("csrf", form.querySelector("input[name=csrf]").value);
    data.append("file", input.files[0]);
    error.hidden = true;
    fetch(input.getAttribute("data-upload"), { method: "POST", body: data, credentials: "same-origin" })
      .then(function (res) { return res.json().then(function (j) { return { ok: res.ok, json: j }; }); })
      .then(function (r) {
        if (!r.ok) {
          error.textContent = (r.json.errors && r.json.errors[0] && r.json.errors[0].message) || r.json.detail || r.json.title || "上传失败，请重试。";
          error.hidden = false;
          return;
        }
        var f = r.json, li = document.createElement("li");
        var hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = "files"; hidden.value = f.id;
        var a = document.createElement("a");
        a.href = f.href; a.textContent = f.name;
        li.appendChild(hidden); li.appendChild(a);
        if (f.is_image) {
          var b = document.createElement("button");
          b.type = "button"; b.className = "btn btn-second btn-small";
          b.setAttribute("data-insert-image", f.href); b.textContent = "插入正文";
          li.appendChild(document.createTextNode(" ")); li.appendChild(b);
        }
        list.appendChild(li);
        input.value = "";
      })
      .catch(function () { error.textContent = "上传失败，请检查网络后重试。"; error.hidden = false; });
  });
}());
