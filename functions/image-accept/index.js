// CloudFront Function (cloudfront-js-2.0), viewer request of the image distributions.
// Rewrites Accept to one of three classes so that the cache key holds at most three variants of an
// image and the engine can pick AVIF or WebP when the request names no format.
// A type the viewer lists with q=0 is refused, not accepted.

function acceptedTypes(accept) {
  var types = {};
  var parts = accept.toLowerCase().split(",");
  for (var i = 0; i < parts.length; i++) {
    var params = parts[i].split(";");
    var type = params[0].trim();
    var refused = false;
    for (var j = 1; j < params.length; j++) {
      var param = params[j].trim();
      if (param.indexOf("q=") === 0 && parseFloat(param.slice(2)) === 0) refused = true;
    }
    if (!refused) types[type] = true;
  }
  return types;
}

function handler(event) {
  var request = event.request;
  var header = request.headers.accept;
  var types = acceptedTypes(header ? header.value : "");
  var normalized = "*/*";
  if (types["image/avif"]) normalized = "image/avif";
  else if (types["image/webp"]) normalized = "image/webp";
  request.headers.accept = { value: normalized };
  return request;
}
