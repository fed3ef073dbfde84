// A supervised TypeScript child for tests: idles until told to stop.
process.on('SIGTERM', () => {
  console.log('idle_child: SIGTERM, exiting');
  process.exit(0);
});
console.log(`idle_child ${process.pid} started`);
setInterval(() => undefined, 1000);
