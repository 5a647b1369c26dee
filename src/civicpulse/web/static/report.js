// Progressive enhancement of the report form: a button that fills latitude and longitude
// from the device's position. Without JavaScript the fields are simply typed in.
(function () {
  "use strict";
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  var where = document.getElementById("where-row");
  if (!lat || !lon || !where || !navigator.geolocation) { return; }
  var button = document.createElement("button");
  button.type = "button";
  button.className = "secondary";
  button.textContent = where.getAttribute("data-locate-label");
  var status = document.createElement("p");
  status.setAttribute("role", "status");
  status.className = "muted";
  button.addEventListener("click", function () {
    status.textContent = where.getAttribute("data-locating-label");
    navigator.geolocation.getCurrentPosition(function (pos) {
      lat.value = pos.coords.latitude.toFixed(6);
      lon.value = pos.coords.longitude.toFixed(6);
      status.textContent = "";
    }, function () {
      status.textContent = where.getAttribute("data-failed-label");
    }, { enableHighAccuracy: true, timeout: 15000 });
  });
  where.parentNode.insertBefore(button, where.nextSibling);
  button.parentNode.insertBefore(status, button.nextSibling);
}());

// A click on the picker map fills in latitude and longitude here instead of sending the form
// (which is what happens without JavaScript: the server reads the click and shows the form
// again with the place filled in). The projection is the server's, sent in data attributes.
(function () {
  "use strict";
  var map = document.getElementById("map-pick");
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  if (!map || !lat || !lon) { return; }
  var west = parseFloat(map.getAttribute("data-west"));
  var north = parseFloat(map.getAttribute("data-north"));
  var scale = parseFloat(map.getAttribute("data-scale"));
  var pad = parseFloat(map.getAttribute("data-pad"));
  var width = parseFloat(map.getAttribute("width"));
  map.addEventListener("click", function (event) {
    if (event.detail === 0) { return; } // keyboard or Enter: an ordinary submission
    event.preventDefault();
    var box = map.getBoundingClientRect();
    var ratio = width / box.width;
    var x = (event.clientX - box.left) * ratio;
    var y = (event.clientY - box.top) * ratio;
    var mx = west + (x - pad) / scale;
    var my = north + (y - pad) / scale;
    var latitude = Math.atan(Math.sinh(Math.PI * (1 - 2 * my))) * 180 / Math.PI;
    lat.value = latitude.toFixed(6);
    lon.value = (mx * 360 - 180).toFixed(6);
    map.src = "/map/place.svg?lat=" + encodeURIComponent(lat.value) +
      "&lon=" + encodeURIComponent(lon.value);
  });
}());

// When the resident has not chosen a category, ask the city's model once they pause typing
// and preselect what it reads in the text, saying so; they can still change it. Without
// JavaScript the same model decides on arrival.
(function () {
  "use strict";
  var text = document.getElementById("text");
  var select = document.getElementById("category");
  var note = document.getElementById("category-hint");
  if (!text || !select || !note || !window.fetch) { return; }
  var chosenByResident = false;
  var timer = null;
  select.addEventListener("change", function () { chosenByResident = true; note.textContent = ""; });
  function ask() {
    if (chosenByResident) { return; }
    var body = new URLSearchParams();
    body.set("text", text.value);
    fetch("/report/suggest", { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { category: null }; })
      .then(function (answer) {
        if (chosenByResident || !answer.category) { return; }
        var option = select.querySelector("option[value='" + CSS.escape(answer.category) + "']");
        if (!option) { return; }
        select.value = answer.category;
        note.textContent = note.getAttribute("data-label") + " " + option.textContent;
      })
      .catch(function () { /* the model's view is a convenience; the form works without it */ });
  }
  text.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(ask, 700);
  });
}());
