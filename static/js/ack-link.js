// One-click acknowledge: the link's secret arrives in the URL fragment (never sent to the
// server, so it is in no access log); copy it into the form so the POST carries it.
document.addEventListener("DOMContentLoaded", function () {
  var field = document.getElementById("id_secret");
  var secret = window.location.hash.replace(/^#/, "");
  if (field && secret && !field.value) {
    field.value = decodeURIComponent(secret);
    var row = document.getElementById("secret-row");
    if (row) row.hidden = true;
  }
});
