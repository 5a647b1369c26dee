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
