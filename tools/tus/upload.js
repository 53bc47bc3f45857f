// Upload one file with tus-js-client (the reference tus client), resuming an upload a killed run
// left: its URL is kept in a file (FileUrlStorage) by the file's fingerprint, as apps do.
//   node upload.js ENDPOINT FILE API_KEY URL_STORAGE CHUNK_BYTES METADATA_JSON
// Prints one JSON line per event: {"resumed": url}, {"progress": n, "total": n}, {"done": url}.
const fs = require("fs");
const tus = require("tus-js-client");

const [endpoint, path, key, storagePath, chunkSize, metadataJson] = process.argv.slice(2);
const say = (event) => process.stdout.write(JSON.stringify(event) + "\n");
const upload = new tus.Upload(fs.createReadStream(path), {
  endpoint,
  chunkSize: Number(chunkSize),
  uploadSize: fs.statSync(path).size,
  metadata: JSON.parse(metadataJson || "{}"),
  headers: { "X-API-Key": key },
  urlStorage: new tus.FileUrlStorage(storagePath),
  fingerprint: async () => `videolake-test-${path}-${fs.statSync(path).size}`,
  storeFingerprintForResuming: true,
  removeFingerprintOnSuccess: true,
  uploadDataDuringCreation: true,
  retryDelays: [0, 500, 1000],
  onProgress: (sent, total) => say({ progress: sent, total }),
  onSuccess: () => say({ done: upload.url }),
  onError: (error) => {
    process.stderr.write(String(error) + "\n");
    process.exit(1);
  },
});
upload.findPreviousUploads().then((previous) => {
  if (previous.length > 0) {
    upload.resumeFromPreviousUpload(previous[0]);
    say({ resumed: previous[0].uploadUrl });
  }
  upload.start();
});
