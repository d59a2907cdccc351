import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { setBridge } from './bridge'
import { router } from './router'
import { createWebBridge } from './web-bridge'

// In the desktop app the preload provides window.warren (IPC); in a browser, the web console serves us and the
// bridge goes over HTTP. Nothing below this line knows which.
if (typeof window !== 'undefined' && !window.warren) setBridge(createWebBridge())

createApp(App).use(createPinia()).use(router).mount('#app')
