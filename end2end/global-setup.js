// Waits (up to 120 s) until the server under test answers, since cargo-leptos starts the tests
// and the server together.
module.exports = async (config) => {
  const base = config.projects[0].use.baseURL;
  const deadline = Date.now() + 120_000;
  let last;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(base);
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error.message;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`server at ${base} did not answer within 120 s (last: ${last})`);
};
