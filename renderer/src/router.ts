import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router'

export const MAIN_VIEWS = [
  { path: '/overview', name: 'overview', label: 'Overview', key: '1' },
  { path: '/cluster', name: 'cluster', label: 'Cluster', key: 'c' },
  { path: '/topology', name: 'topology', label: 'Topology', key: '2' },
  { path: '/queues', name: 'queues', label: 'Queues', key: '3' },
  { path: '/exchanges', name: 'exchanges', label: 'Exchanges', key: '4' },
  { path: '/messages', name: 'messages', label: 'Message browser', key: '5' },
  { path: '/publish', name: 'publish', label: 'Publish', key: '6' },
  { path: '/dead-letters', name: 'dead-letters', label: 'Dead letters', key: '7' },
  { path: '/scheduled', name: 'scheduled', label: 'Scheduled', key: '8' },
  { path: '/clients', name: 'clients', label: 'Connections & channels', key: '9' },
  { path: '/profiles', name: 'profiles', label: 'Broker profiles', key: '0' },
] as const

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/overview' },
  { path: '/overview', name: 'overview', component: () => import('./views/OverviewView.vue') },
  { path: '/cluster', name: 'cluster', component: () => import('./views/ClusterView.vue') },
  { path: '/topology', name: 'topology', component: () => import('./views/TopologyView.vue') },
  { path: '/queues', name: 'queues', component: () => import('./views/QueuesView.vue') },
  { path: '/exchanges', name: 'exchanges', component: () => import('./views/ExchangesView.vue') },
  { path: '/messages', name: 'messages', component: () => import('./views/MessagesView.vue') },
  { path: '/publish', name: 'publish', component: () => import('./views/PublishView.vue') },
  { path: '/dead-letters', name: 'dead-letters', component: () => import('./views/DeadLettersView.vue') },
  { path: '/scheduled', name: 'scheduled', component: () => import('./views/ScheduledView.vue') },
  { path: '/clients', name: 'clients', component: () => import('./views/ClientsView.vue') },
  { path: '/profiles', name: 'profiles', component: () => import('./views/ProfilesView.vue') },
  { path: '/:rest(.*)*', redirect: '/overview' },
]

// hash history: the desktop app loads index.html from a file:// URL
export const router = createRouter({ history: createWebHashHistory(), routes })
