// Each "swarm" event carries the page's content anew. On an error the page says so, keeps
// what it saw last, and opens a new stream a second later itself, rather than leave it to
// the browser: the browser's own reconnection gives up for good when an answer is not an
// event stream (the proxy's page while the view's task moves to another node, say), and an
// attempt made while a node restarts can hang for minutes, so one that has not opened
// within ten seconds is dropped for a new one.
const now = document.getElementById("now");
const live = document.getElementById("live");
let events = null;
let asked = 0;

function listen() {
  events = new EventSource("/swarm/events");
  asked = Date.now();
  events.addEventListener("swarm", (event) => {
    now.innerHTML = event.data;
    live.textContent = "live: updated " + new Date().toLocaleTimeString();
  });
  events.onerror = () => {
    live.textContent = "the view does not answer: trying again (this is what it saw last)";
    events.close();
    setTimeout(listen, 1000);
  };
}

setInterval(() => {
  if (events.readyState === EventSource.CONNECTING && Date.now() - asked > 10000) {
    events.close();
    listen();
  }
}, 2000);

listen();
